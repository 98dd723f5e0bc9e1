import type { PartitionMapReader, PartitionOwner } from '@flux/core';
import type { RedisClient } from './lua-script.js';
import { storeCall } from './redis-errors.js';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX } from './redis-keys.js';

export interface RedisPartitionMapReaderOptions {
  readonly client: RedisClient;
  /** Prefix of the keys (default `flux:`): the deployment's, shared by reducers and gateways. */
  readonly keyPrefix?: string;
}

/**
 * The partition map elastic reducers publish, as gateways read it: the hash
 * `<prefix>{flux-reducers}:map`, partition → `{"memberId", "address", "epoch"}` (JSON).
 */
export class RedisPartitionMapReader implements PartitionMapReader {
  private readonly client: RedisClient;
  private readonly key: string;

  constructor(options: RedisPartitionMapReaderOptions) {
    this.client = options.client;
    this.key = `${checkKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX)}{flux-reducers}:map`;
  }

  partitionMap(): Promise<readonly PartitionOwner[]> {
    return storeCall('read the partition map', async () => {
      const entries = await this.client.hgetall(this.key);
      const owners: PartitionOwner[] = [];
      for (const [field, value] of Object.entries(entries)) {
        const owner = parseOwner(Number(field), value);
        // An entry this version cannot read routes nothing; its partition reads as being handed over.
        if (owner !== undefined) owners.push(owner);
      }
      return owners.sort((a, b) => a.partition - b.partition);
    });
  }
}

function parseOwner(partition: number, value: string): PartitionOwner | undefined {
  if (!Number.isInteger(partition) || partition < 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { memberId, address, epoch } = parsed as Record<string, unknown>;
  if (typeof memberId !== 'string' || typeof address !== 'string' || typeof epoch !== 'number' || !Number.isInteger(epoch)) return undefined;
  return { partition, memberId, address, epoch };
}
