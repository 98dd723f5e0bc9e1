/** Splitting a batch into request bodies under the server's batch byte limit. */

const encoder = new TextEncoder();

export const byteLength = (text: string): number => encoder.encode(text).length;

/** Bytes of `{"events":[` and `]}` around the joined events. */
const WRAPPER_BYTES = byteLength('{"events":[]}');

export interface SerialisedEvent {
  readonly index: number;
  readonly json: string;
  readonly bytes: number;
}

export type ChunkPlan = { readonly chunks: SerialisedEvent[][]; readonly oversized: SerialisedEvent[] };

/**
 * Consecutive runs of events whose `{"events":[...]}` body fits in `maxBytes`, in input order
 * (the server applies a batch in array order, and so chunks are sent one after another). An
 * event that alone exceeds the limit is set aside: sent, it would fail its whole chunk with 413.
 */
export function planChunks(events: readonly SerialisedEvent[], maxBytes: number): ChunkPlan {
  const chunks: SerialisedEvent[][] = [];
  const oversized: SerialisedEvent[] = [];
  let current: SerialisedEvent[] = [];
  let currentBytes = WRAPPER_BYTES;
  for (const event of events) {
    if (WRAPPER_BYTES + event.bytes > maxBytes) {
      oversized.push(event);
      continue;
    }
    // One comma between two events.
    const added = current.length === 0 ? event.bytes : event.bytes + 1;
    if (currentBytes + added > maxBytes) {
      chunks.push(current);
      current = [];
      currentBytes = WRAPPER_BYTES;
      currentBytes += event.bytes;
    } else {
      currentBytes += added;
    }
    current.push(event);
  }
  if (current.length > 0) chunks.push(current);
  return { chunks, oversized };
}

export const chunkBody = (chunk: readonly SerialisedEvent[]): string => `{"events":[${chunk.map((event) => event.json).join(',')}]}`;
