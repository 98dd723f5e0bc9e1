import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteLength, planChunks, type SerialisedEvent } from '../src/batch-chunks.js';

const serialised = (texts: readonly string[]): SerialisedEvent[] =>
  texts.map((text, index) => {
    const json = JSON.stringify({ payload: text });
    return { index, json, bytes: byteLength(json) };
  });

/** The request body a chunk becomes. */
const body = (chunk: readonly SerialisedEvent[]): string => `{"events":[${chunk.map((event) => event.json).join(',')}]}`;

describe('planChunks', () => {
  it('keeps every body within the limit, every event once and in order, and sets aside only events too large alone', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 60 }), fc.integer({ min: 16, max: 200 }), (texts, maxBytes) => {
        const events = serialised(texts);
        const { chunks, oversized } = planChunks(events, maxBytes);
        for (const chunk of chunks) {
          expect(chunk.length).toBeGreaterThan(0);
          expect(byteLength(body(chunk))).toBeLessThanOrEqual(maxBytes);
        }
        for (const event of oversized) expect(byteLength(body([event]))).toBeGreaterThan(maxBytes);
        const sent = chunks.flat().map((event) => event.index);
        expect(sent).toEqual([...sent].sort((a, b) => a - b));
        expect([...sent, ...oversized.map((event) => event.index)].sort((a, b) => a - b)).toEqual(events.map((event) => event.index));
      }),
    );
  });

  it('fills a chunk up to the limit before starting the next', () => {
    const events = serialised(['a', 'b', 'c']);
    const two = byteLength(body(events.slice(0, 2)));
    expect(planChunks(events, two).chunks.map((chunk) => chunk.map((event) => event.index))).toEqual([[0, 1], [2]]);
  });
});
