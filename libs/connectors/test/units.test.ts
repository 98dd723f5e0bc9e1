/** Small pieces: Link parsing, deterministic event ids, cursor bookkeeping. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, CursorBook, nextLink, observationEventId } from '@flux/connectors';

describe('nextLink', () => {
  const base = 'https://api.github.com/user/repos?per_page=100';
  it('finds rel="next" among other relations', () => {
    const header =
      '<https://api.github.com/user/repos?per_page=100&page=2>; rel="next", <https://api.github.com/user/repos?per_page=100&page=5>; rel="last"';
    expect(nextLink(header, base)).toBe('https://api.github.com/user/repos?per_page=100&page=2');
    expect(nextLink('<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next"', base)).toBe(
      'https://api.github.com/x?page=3',
    );
  });
  it('resolves relative links and ignores other hosts', () => {
    expect(nextLink('</user/repos?page=2>; rel=next', base)).toBe('https://api.github.com/user/repos?page=2');
    expect(nextLink('<https://evil.example/steal>; rel="next"', base)).toBeUndefined();
  });
  it('is undefined without a next relation', () => {
    expect(nextLink(null, base)).toBeUndefined();
    expect(nextLink('<https://api.github.com/x?page=1>; rel="first"', base)).toBeUndefined();
  });
});

describe('observationEventId', () => {
  it('is a stable v8 UUID of the connector, the entity and the properties (key order irrelevant)', () => {
    const id = observationEventId('github', 'github/repo/a/b', { x: 1, y: 'two' });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(observationEventId('github', 'github/repo/a/b', { y: 'two', x: 1 })).toBe(id);
    expect(observationEventId('github', 'github/repo/a/b', { x: 2, y: 'two' })).not.toBe(id);
    expect(observationEventId('github', 'ns/github/repo/a/b', { x: 1, y: 'two' })).not.toBe(id);
    expect(observationEventId('other', 'github/repo/a/b', { x: 1, y: 'two' })).not.toBe(id);
  });
  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1}]}');
  });
});

describe('CursorBook', () => {
  it('keeps only what a complete poll touched, and everything else after a partial one', () => {
    const book = new CursorBook({ old: '1', kept: '2' });
    book.set('kept', '3');
    book.set('new', '4');
    expect(book.result(true)).toEqual({ kept: '3', new: '4' });
    expect(book.result(false)).toEqual({ old: '1', kept: '3', new: '4' });
  });
});
