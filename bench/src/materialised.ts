/**
 * Waits until every entity of a set shows the last event sent to it, by listing the set's
 * sub-prefixes (`GET /api/state/entities?prefix=`). A sub-prefix found complete is not listed
 * again, so the check costs about one listing of the set plus the stragglers.
 */
import pMap from 'p-map';
import type { EntitySet } from './entity-set.js';
import { listPath, type HttpClient } from './http-client.js';
import { delay } from './process-group.js';

export interface MaterialisedOptions {
  readonly client: HttpClient;
  readonly set: EntitySet;
  /** The seq each entity must show at least, or undefined for entities that need not exist. */
  readonly expectedSeq: (index: number) => number | undefined;
  readonly timeoutMs: number;
}

/** Sub-prefixes listed at once while checking. */
const LIST_CONCURRENCY = 4;

export interface MaterialisedResult {
  /** performance.now() when the listing that found the last sub-prefix complete was answered. */
  readonly at: number;
  readonly listRequests: number;
}

interface ListedEntity {
  readonly id: string;
  readonly properties: { readonly seq?: unknown };
}

export async function waitMaterialised(options: MaterialisedOptions): Promise<MaterialisedResult> {
  const { client, set, expectedSeq } = options;
  const deadline = performance.now() + options.timeoutMs;
  const expectedPerGroup = new Array<number>(set.groups).fill(0);
  for (let index = 0; index < set.count; index++) if (expectedSeq(index) !== undefined) expectedPerGroup[index % set.groups]!++;
  let pending = expectedPerGroup.flatMap((expected, group) => (expected > 0 ? [group] : []));
  let listRequests = 0;
  let missing = 0;
  for (;;) {
    const stillPending = await pMap(
      pending,
      async (group) => {
        const entities = await client.getJson<ListedEntity[]>(listPath(set.groupPrefix(group)));
        listRequests++;
        let current = 0;
        for (const entity of entities) {
          const index = set.indexOf(entity.id);
          const expected = index === undefined ? undefined : expectedSeq(index);
          // At least: an event whose answer was lost (timeout, end of a run) may still have been applied after it.
          if (expected !== undefined && typeof entity.properties.seq === 'number' && entity.properties.seq >= expected) current++;
        }
        const expected = expectedPerGroup[group]!;
        return current === expected ? undefined : { group, missing: expected - current };
      },
      { concurrency: LIST_CONCURRENCY },
    );
    const incomplete = stillPending.filter((entry) => entry !== undefined);
    if (incomplete.length === 0) return { at: performance.now(), listRequests };
    missing = incomplete.reduce((sum, entry) => sum + entry.missing, 0);
    pending = incomplete.map((entry) => entry.group);
    if (performance.now() > deadline) {
      throw new Error(`${missing} entities under ${set.prefix} still lacked their last event after ${options.timeoutMs} ms`);
    }
    await delay(10);
  }
}
