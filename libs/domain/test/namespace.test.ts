import { describe, expect, it } from 'vitest';
import { isReservedNamespace, namespaceNameProblem } from '@flux/domain';

describe('namespaceNameProblem', () => {
  it.each(['abc', 'dawn-coral', 'team_42', '---', '0a9', 'a'.repeat(32), 'flux-core'])('accepts %j', (name) => {
    expect(namespaceNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['too short', 'ab'],
    ['empty', ''],
    ['too long', 'a'.repeat(33)],
    ['uppercase', 'Dawn'],
    ['a dot', 'dawn.coral'],
    ['a slash', 'dawn/coral'],
    ['a space', 'dawn coral'],
    ['non-ASCII', 'café'],
    ['a trailing newline', 'dawn\n'],
  ])('rejects a name with %s', (_label, name) => {
    expect(namespaceNameProblem(name)).toBe('name must be 3 to 32 characters of a-z, 0-9, _ and -');
  });

  it.each([undefined, null, 42, ['abc'], { name: 'abc' }])('rejects the non-string %j', (name) => {
    expect(namespaceNameProblem(name)).toBe('name must be a string');
  });
});

describe('isReservedNamespace', () => {
  it('reserves flux-core', () => {
    expect(isReservedNamespace('flux-core')).toBe(true);
  });

  it.each(['flux', 'flux-core2', 'dawn-coral', 'FLUX-CORE'])('does not reserve %j', (name) => {
    expect(isReservedNamespace(name)).toBe(false);
  });
});
