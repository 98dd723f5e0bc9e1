import type { Membership, PartitionOwner, ReducerMember, ReducerRegistry } from '@flux/core';
import { PUBLISH_OWNER, REDUCER_HEARTBEAT, RELEASE_OWNER } from './lua/scripts.js';
import { defineScript, type RedisClient, type ScriptCaller } from './lua-script.js';
import { storeCall } from './redis-errors.js';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX, reducerRegistryKeys, type ReducerRegistryKeys } from './redis-keys.js';

export interface RedisReducerRegistryOptions {
  readonly client: RedisClient;
  /** Prefix of the keys (default `flux:`): the deployment's, shared by reducers and gateways. */
  readonly keyPrefix?: string;
}

/**
 * Membership and the partition map of elastic reducers in Redis. Leases are measured on the
 * Redis server's clock (one clock for every member), and each check-and-set is one script, so
 * a stale owner can never overwrite a newer claim's entry.
 */
export class RedisReducerRegistry implements ReducerRegistry {
  private readonly client: RedisClient;
  private readonly keys: ReducerRegistryKeys;
  private readonly heartbeatScript: ScriptCaller;
  private readonly publishScript: ScriptCaller;
  private readonly releaseScript: ScriptCaller;

  constructor(options: RedisReducerRegistryOptions) {
    this.client = options.client;
    this.keys = reducerRegistryKeys(checkKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX));
    this.heartbeatScript = defineScript(this.client, REDUCER_HEARTBEAT);
    this.publishScript = defineScript(this.client, PUBLISH_OWNER);
    this.releaseScript = defineScript(this.client, RELEASE_OWNER);
  }

  heartbeat(member: ReducerMember, leaseMs: number): Promise<Membership> {
    if (!Number.isInteger(leaseMs) || leaseMs < 1) throw new RangeError(`leaseMs must be a positive integer, got ${leaseMs}`);
    return storeCall('reducer heartbeat', async () => {
      const reply = (await this.heartbeatScript([this.keys.members, this.keys.addresses], [member.id, member.address, leaseMs])) as (
        number | string
      )[];
      const members: ReducerMember[] = [];
      for (let i = 1; i + 1 < reply.length; i += 2) members.push({ id: String(reply[i]), address: String(reply[i + 1]) });
      members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return { members, continuous: reply[0] === 1 };
    });
  }

  async leave(memberId: string): Promise<void> {
    await storeCall('reducer leave', async () => {
      await this.client.zrem(this.keys.members, memberId);
      await this.client.hdel(this.keys.addresses, memberId);
    });
  }

  publishOwner(owner: PartitionOwner): Promise<boolean> {
    const entry = JSON.stringify({ memberId: owner.memberId, address: owner.address, epoch: owner.epoch });
    return storeCall('publish partition owner', async () => (await this.publishScript([this.keys.map], [owner.partition, entry, owner.epoch])) === 1);
  }

  async releaseOwner(partition: number, memberId: string, epoch: number): Promise<void> {
    await storeCall('release partition owner', () => this.releaseScript([this.keys.map], [partition, memberId, epoch]));
  }

  partitionMap(): Promise<readonly PartitionOwner[]> {
    return storeCall('read the partition map', async () => {
      const entries = await this.client.hgetall(this.keys.map);
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
