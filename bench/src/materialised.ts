/**
 * Waits until every entity of a set shows the last event sent to it. With the positions the
 * writes were answered with, it first waits for each partition to be applied that far (one
 * `min_position` read per partition, answered by the server when it is), so the check loads
 * the server no more while it catches up. Either way it then lists the set's sub-prefixes
 * (`GET /api/state/entities?prefix=`) until every entity shows its last event; a sub-prefix
 * found complete is not listed again.
 */
import pMap from 'p-map';
import { encodePosition } from '@flux/domain';
import type { EntitySet } from './entity-set.js';
import { listPath, type HttpClient } from './http-client.js';
import { delay } from './process-group.js';

export interface MaterialisedOptions {
  readonly client: HttpClient;
  readonly set: EntitySet;
  /** The seq each entity must show at least, or undefined for entities that need not exist. */
  readonly expectedSeq: (index: number) => number | undefined;
  readonly timeoutMs: number;
  /** The highest log offset acknowledged per partition, when the writes' answers carried them. */
  readonly positions?: ReadonlyMap<number, number>;
}

/** Keeps the highest offset per partition of the positions a batch answer carries. */
export function notePositions(positions: Map<number, number>, results: readonly { partition?: unknown; offset?: unknown }[]): void {
  for (const { partition, offset } of results) {
    if (typeof partition !== 'number' || typeof offset !== 'number') continue;
    if (offset > (positions.get(partition) ?? -1)) positions.set(partition, offset);
  }
}

/** Resolves once every partition is applied up to its position (the reads answer 404 or 200 then; 504 means not yet). */
async function waitApplied(client: HttpClient, probeId: string, positions: ReadonlyMap<number, number>, deadline: number): Promise<void> {
  await pMap(
    [...positions],
    async ([partition, offset]) => {
      for (;;) {
        const timeout = Math.max(1, Math.min(30_000, Math.round(deadline - performance.now())));
        const path = `/api/state/entities/${encodeURIComponent(probeId)}?min_position=${encodePosition({ partition, offset })}&timeout_ms=${timeout}`;
        const response = await client.get(path);
        if (response.status === 200 || response.status === 404) return;
        if (response.status !== 504 || performance.now() > deadline)
          throw new Error(`GET ${path}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
      }
    },
    { concurrency: 8 },
  );
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
  const waited =
    options.positions === undefined
      ? undefined
      : await waitApplied(client, `${set.groupPrefix(0)}position-probe`, options.positions, deadline).then(() => performance.now());
  let firstPass = true;
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
    // Applied up to every acknowledged position and then found complete: done when applied.
    if (incomplete.length === 0) return { at: waited !== undefined && firstPass ? waited : performance.now(), listRequests };
    firstPass = false;
    missing = incomplete.reduce((sum, entry) => sum + entry.missing, 0);
    pending = incomplete.map((entry) => entry.group);
    if (performance.now() > deadline) {
      throw new Error(`${missing} entities under ${set.prefix} still lacked their last event after ${options.timeoutMs} ms`);
    }
    await delay(10);
  }
}
