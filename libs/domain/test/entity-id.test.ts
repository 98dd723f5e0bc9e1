import { describe, expect, it } from 'vitest';
import {
  DIRECTORY_ENTITY_ID,
  ErrorCode,
  FluxError,
  MAX_ENTITY_ID_LENGTH,
  SYSTEM_NAMESPACE,
  assertEntityId,
  entityIdProblem,
  isSystemEntity,
  namespaceOf,
} from '@flux/domain';

describe('namespaceOf', () => {
  it.each([
    ['a/b/c', 'a'],
    ['dawn-coral/sensor-01', 'dawn-coral'],
    ['github/org/repo/issues/42', 'github'],
    ['ns/', 'ns'],
    ['flux-core/directory', 'flux-core'],
  ])('namespaceOf(%j) is %j', (id, namespace) => {
    expect(namespaceOf(id)).toBe(namespace);
  });

  it.each(['plain', '', '/leading', '/'])('%j has no namespace', (id) => {
    expect(namespaceOf(id)).toBeUndefined();
  });
});

describe('entityIdProblem', () => {
  it.each(['a', 'dawn-coral/sensor-01', 'é/日本/🚀', 'with space', 'x'.repeat(MAX_ENTITY_ID_LENGTH)])('accepts %j', (id) => {
    expect(entityIdProblem(id)).toBeUndefined();
  });

  it('limits ids to 512 characters', () => {
    expect(MAX_ENTITY_ID_LENGTH).toBe(512);
    expect(entityIdProblem('x'.repeat(513))).toBe('must be at most 512 characters');
  });

  it.each([
    [42, 'must be a string'],
    [null, 'must be a string'],
    [undefined, 'must be a string'],
    ['', 'must not be empty'],
    ['a\nb', 'must not contain control characters'],
    ['\u0000', 'must not contain control characters'],
    ['a\u001f', 'must not contain control characters'],
    ['a\u007f', 'must not contain control characters'],
    ['a\u009f', 'must not contain control characters'],
  ])('rejects %j: %s', (id, problem) => {
    expect(entityIdProblem(id)).toBe(problem);
  });

  it('accepts characters just outside the control ranges', () => {
    expect(entityIdProblem(' ~')).toBeUndefined();
    expect(entityIdProblem('\u00a0')).toBeUndefined();
  });
});

describe('assertEntityId', () => {
  it('passes a valid id', () => {
    expect(() => assertEntityId('ns/a')).not.toThrow();
  });

  it('throws a validation FluxError naming the field', () => {
    let caught: unknown;
    try {
      assertEntityId('', 'entity_ids[3]');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FluxError);
    expect((caught as FluxError).code).toBe(ErrorCode.Validation);
    expect((caught as FluxError).message).toBe('entity_ids[3] must not be empty');
    expect(() => assertEntityId(5)).toThrow('entity_id must be a string');
  });
});

describe('system entities', () => {
  it('live in the flux-core namespace', () => {
    expect(SYSTEM_NAMESPACE).toBe('flux-core');
    expect(DIRECTORY_ENTITY_ID).toBe('flux-core/directory');
    expect(isSystemEntity('flux-core/directory')).toBe(true);
    expect(isSystemEntity('flux-core/anything/else')).toBe(true);
  });

  it.each(['flux-core', 'flux-corex/a', 'flux/core', 'ns/flux-core/directory', 'Flux-core/directory'])('%j is not a system entity', (id) => {
    expect(isSystemEntity(id)).toBe(false);
  });
});
