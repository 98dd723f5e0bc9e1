import { describe, expect, it } from 'vitest';
import { compileFilter, encodeEntity, FILTER_SCAN_SLICE, FILTER_SCAN_SLICE_CHARS } from '@flux/domain';
import { scanFiltered, type ScannedEntry } from '@flux/core';

/** An ordered source of `count` entities `e<nnnnn>` with `n` and a `pad` of `padChars`; records every slice asked for. */
function source(count: number, padChars = 0) {
  const entries: ScannedEntry[] = Array.from({ length: count }, (_, n) => ({
    id: `e${String(n).padStart(5, '0')}`,
    json: encodeEntity({ properties: { n, pad: 'x'.repeat(padChars) }, version: 1, lastUpdated: 0 }),
  }));
  const asked: number[] = [];
  const readSlice = (after: string | undefined, wanted: number): ScannedEntry[] => {
    asked.push(wanted);
    const start = after === undefined ? 0 : entries.findIndex((entry) => entry.id > after);
    return start < 0 ? [] : entries.slice(start, start + wanted);
  };
  return { entries, asked, readSlice };
}

describe('scanFiltered', () => {
  it('returns the first `limit` matches, and lastId only when another match exists', async () => {
    const { readSlice } = source(1000);
    const page = await scanFiltered(readSlice, { limit: 3, budget: 10_000, filter: compileFilter('n in (5, 600, 700, 999)') });
    expect(page.entities.map((record) => record.entity.properties['n'])).toEqual([5, 600, 700]);
    expect(page.lastId).toBe('e00700');
    const rest = await scanFiltered(readSlice, { after: page.lastId!, limit: 3, budget: 10_000, filter: compileFilter('n in (5, 600, 700, 999)') });
    expect(rest).toEqual({ entities: [expect.objectContaining({ id: 'e00999' })] });
  });

  it('stops after the budget with the last entry examined as lastId, and skips vanished entries', async () => {
    const { readSlice } = source(1000);
    const vanishing = (after: string | undefined, wanted: number): ScannedEntry[] =>
      readSlice(after, wanted).map((entry) => (entry.id === 'e00001' ? { id: entry.id, json: undefined } : entry));
    const page = await scanFiltered(vanishing, { limit: 10, budget: 300, filter: compileFilter('n < 2 or n = 900') });
    expect(page).toEqual({ entities: [expect.objectContaining({ id: 'e00000' })], lastId: 'e00299' });
  });

  it('sizes slices to the entities: many small ones, few large ones', async () => {
    const small = source(2000);
    await scanFiltered(small.readSlice, { limit: 10, budget: 10_000, filter: compileFilter('n < 0') });
    expect(Math.max(...small.asked)).toBe(FILTER_SCAN_SLICE);
    const large = source(200, 64 * 1024);
    await scanFiltered(large.readSlice, { limit: 10, budget: 10_000, filter: compileFilter('n < 0') });
    expect(large.asked.slice(1).every((wanted) => wanted * 64 * 1024 <= FILTER_SCAN_SLICE_CHARS)).toBe(true);
  });

  it('lets other work run while it scans', async () => {
    const { readSlice } = source(10_000);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    let ticksAtEnd = 0;
    try {
      await scanFiltered(readSlice, { limit: 10, budget: 10_000, filter: compileFilter('n < 0') }).then(() => (ticksAtEnd = ticks));
    } finally {
      clearInterval(ticker);
    }
    expect(ticksAtEnd).toBeGreaterThan(0);
  });
});
