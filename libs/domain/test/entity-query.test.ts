import { describe, expect, it } from 'vitest';
import { ErrorCode, FluxError, combineFilters, compareIds, decodeCursor, encodeCursor } from '@flux/domain';

/** The contract's definition of the two filters (section 3), combined with AND. */
function matchesContract(id: string, prefix: string | undefined, namespace: string | undefined): boolean {
  if (prefix !== undefined && !id.startsWith(prefix)) return false;
  if (namespace !== undefined) {
    const slash = id.indexOf('/');
    if (slash < 0 || id.slice(0, slash) !== namespace) return false;
  }
  return true;
}

const matchesCombined = (id: string, combined: string | undefined): boolean => combined !== undefined && id.startsWith(combined);

describe('combineFilters', () => {
  it.each([
    [undefined, undefined, ''],
    ['sensor', undefined, 'sensor'],
    ['', undefined, ''],
    [undefined, 'dawn-coral', 'dawn-coral/'],
    ['dawn-coral/sensor', 'dawn-coral', 'dawn-coral/sensor'],
    ['dawn-coral/', 'dawn-coral', 'dawn-coral/'],
    ['dawn', 'dawn-coral', 'dawn-coral/'],
    ['dawn-coral', 'dawn-coral', 'dawn-coral/'],
    ['', 'dawn-coral', 'dawn-coral/'],
  ])('prefix %j with namespace %j gives prefix %j', (prefix, namespace, expected) => {
    expect(combineFilters(prefix, namespace)).toBe(expected);
  });

  it.each([
    ['other', 'dawn-coral'],
    ['dawn-coral-2/', 'dawn-coral'],
    ['dawn-coralx', 'dawn-coral'],
    ['dawn-coral/x', 'dawn'],
    ['dawn/', 'dawn-coral'],
    ['dawn-coral.', 'dawn-coral'],
  ])('prefix %j with namespace %j can never both hold: undefined', (prefix, namespace) => {
    expect(combineFilters(prefix, namespace)).toBeUndefined();
  });

  it('a namespace containing a slash matches nothing', () => {
    expect(combineFilters(undefined, 'a/b')).toBeUndefined();
    expect(combineFilters('a/b/c', 'a/b')).toBeUndefined();
  });

  it('selects exactly the ids the contract filters select', () => {
    const ids = [
      'dawn-coral/sensor-01',
      'dawn-coral/sensor-02',
      'dawn-coral/deep/nested',
      'dawn-coral',
      'dawn-coralx/sensor',
      'dawn/sensor',
      'a/b/c',
      'a/bc',
      'plain',
      'pl/ain',
      '/leading',
    ];
    const prefixes = [undefined, '', 'd', 'dawn', 'dawn-coral', 'dawn-coral/', 'dawn-coral/s', 'a/b', 'a/b/', 'p', 'x'];
    const namespaces = [undefined, 'dawn', 'dawn-coral', 'a', 'a/b', 'pl', 'plain', 'x'];
    for (const prefix of prefixes) {
      for (const namespace of namespaces) {
        const combined = combineFilters(prefix, namespace);
        for (const id of ids) {
          expect(matchesCombined(id, combined), `id ${id}, prefix ${prefix}, namespace ${namespace}`).toBe(matchesContract(id, prefix, namespace));
        }
      }
    }
  });
});

describe('cursors', () => {
  it.each(['dawn-coral/sensor-01', '', 'a', 'é/日本/🚀', 'has "quotes" and \\ backslash', 'x'.repeat(512)])('round-trips the id %j', (id) => {
    expect(decodeCursor(encodeCursor(id))).toBe(id);
  });

  it('produces a cursor that is safe in a header and a query string', () => {
    expect(encodeCursor('é/日本/🚀 ?&=#+/')).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  function cursorRejection(cursor: string): FluxError {
    let caught: unknown;
    try {
      decodeCursor(cursor);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FluxError);
    return caught as FluxError;
  }

  it.each([
    ['garbage', 'not a cursor!!!'],
    ['empty', ''],
    ['base64 of plain text', Buffer.from('hello').toString('base64url')],
    ['base64 of JSON null', Buffer.from('null').toString('base64url')],
    ['base64 of a JSON array', Buffer.from('["a"]').toString('base64url')],
    ['base64 of a non-string after', Buffer.from('{"after":42}').toString('base64url')],
    ['base64 of an object without after', Buffer.from('{"before":"a"}').toString('base64url')],
    ['a JSON cursor not base64-encoded', '{"after":"a"}'],
  ])('rejects %s with FLUX_VALIDATION', (_label, cursor) => {
    const error = cursorRejection(cursor);
    expect(error.code).toBe(ErrorCode.Validation);
    expect(error.message).toMatch(/cursor/);
  });
});

describe('compareIds (UTF-8 byte order)', () => {
  it.each([
    ['Z', 'a'],
    ['A', 'B'],
    ['', 'a'],
    ['a', 'ab'],
    ['a/b', 'a0'],
    ['z', 'é'],
    ['é', '日'],
    ['sensor-10', 'sensor-9'],
    ['\uffff', '🚀'],
  ])('%j sorts before %j', (lower, higher) => {
    expect(compareIds(lower, higher)).toBeLessThan(0);
    expect(compareIds(higher, lower)).toBeGreaterThan(0);
  });

  it('returns 0 for equal ids', () => {
    expect(compareIds('dawn-coral/sensor-01', 'dawn-coral/sensor-01')).toBe(0);
    expect(compareIds('', '')).toBe(0);
  });

  it('differs from JavaScript string order above the BMP, as the stores order ids', () => {
    // UTF-16 code units put U+1F680 (a surrogate pair, 0xD83D...) before U+FFFF; UTF-8 bytes do not.
    expect(['\uffff', '🚀'].sort()).toEqual(['🚀', '\uffff']);
    expect(['🚀', '\uffff', 'a'].sort(compareIds)).toEqual(['a', '\uffff', '🚀']);
  });

  it('sorts a mixed list in byte order', () => {
    const ids = ['é', 'a', 'Z', 'z', 'ns/b', 'ns/a', 'ns', '0', '日本', '🚀', 'A'];
    expect([...ids].sort(compareIds)).toEqual(['0', 'A', 'Z', 'a', 'ns', 'ns/a', 'ns/b', 'z', 'é', '日本', '🚀']);
  });
});
