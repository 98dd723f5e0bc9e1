import { describe, expect, it } from 'vitest';
import { ErrorCode, FluxError, type StoredEntity } from '@flux/domain';
import { FallbackStateReader, trackStaleReads, type StateReader, type StaleReadTracker } from '../src/index.js';

const entity = (version: number): StoredEntity => ({ version }) as unknown as StoredEntity;

/** A reader whose getEntity answers `answer` (or throws it when it is an Error). */
function reader(answer: StoredEntity | Error): StateReader {
  const fail = (): never => {
    throw new Error('not used');
  };
  return {
    getEntity: async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    },
    getEntityJson: async () => {
      if (answer instanceof Error) throw answer;
      return JSON.stringify(answer);
    },
    listEntities: fail,
    history: fail,
    counts: fail,
    eventsApplied: fail,
  };
}

async function readTracked(subject: StateReader): Promise<{ value: unknown; stale: boolean }> {
  const tracker: StaleReadTracker = { stale: false };
  const value = await trackStaleReads(tracker, () => subject.getEntity('ns/a').catch((error: unknown) => error));
  return { value, stale: tracker.stale };
}

describe('FallbackStateReader', () => {
  it('answers from the primary when it can, not marked stale', async () => {
    const subject = new FallbackStateReader({ primary: reader(entity(2)), fallback: reader(entity(1)) });
    expect(await readTracked(subject)).toEqual({ value: entity(2), stale: false });
  });

  it('answers from the fallback, marked stale, when the primary is unavailable', async () => {
    const unavailable = new FluxError(ErrorCode.StoreUnavailable, 'shard down');
    const subject = new FallbackStateReader({ primary: reader(unavailable), fallback: reader(entity(1)) });
    expect(await readTracked(subject)).toEqual({ value: entity(1), stale: true });
  });

  it('point reads as stored JSON fall back the same way', async () => {
    const unavailable = new FluxError(ErrorCode.StoreUnavailable, 'shard down');
    const subject = new FallbackStateReader({ primary: reader(unavailable), fallback: reader(entity(1)) });
    const tracker: StaleReadTracker = { stale: false };
    expect(await trackStaleReads(tracker, () => subject.getEntityJson('ns/a'))).toBe('{"version":1}');
    expect(tracker.stale).toBe(true);
  });

  it('passes other errors of the primary through, and fails when the fallback fails too', async () => {
    const invalid = new FluxError(ErrorCode.Validation, 'bad id');
    expect((await readTracked(new FallbackStateReader({ primary: reader(invalid), fallback: reader(entity(1)) }))).value).toBe(invalid);
    const down = new FluxError(ErrorCode.StoreUnavailable, 'redis down');
    const both = new FallbackStateReader({ primary: reader(new FluxError(ErrorCode.StoreUnavailable, 'shard down')), fallback: reader(down) });
    expect(await readTracked(both)).toEqual({ value: down, stale: false });
  });
});
