import { ErrorCode, FluxError } from '@flux/domain';

/** The environment variable listing the shards' gRPC addresses, in shard order. */
export const SHARD_ADDRESSES_ENV = 'FLUX_SHARD_ADDRESSES';

// host:port with a DNS name or IPv4 address, or [IPv6]:port.
const ADDRESS = /^(?:\[(?<v6>[0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|(?<host>[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)):(?<port>\d{1,5})$/;

/**
 * Parses `host:port,host:port,...`: the address at index i is shard i, so the order is the
 * shard order and must be the same on every gateway. Whitespace around entries is ignored;
 * empty entries, malformed addresses, ports outside 1..65535 and duplicates are rejected.
 */
export function parseShardAddresses(value: string | undefined, name = SHARD_ADDRESSES_ENV): string[] {
  const fail = (problem: string): never => {
    throw new FluxError(ErrorCode.NotConfigured, `${name} ${problem} (expected host:port,host:port,... in shard order)`);
  };
  if (value === undefined || value.trim() === '') return fail('is not set');
  const addresses = value.split(',').map((entry) => entry.trim());
  const seen = new Set<string>();
  addresses.forEach((address, shard) => {
    if (address === '') fail(`has an empty entry at shard ${shard}`);
    const match = ADDRESS.exec(address);
    const port = Number(match?.groups?.['port']);
    if (match === null || !(port >= 1 && port <= 65_535)) fail(`has an invalid address at shard ${shard}: ${JSON.stringify(address)}`);
    const key = address.toLowerCase();
    if (seen.has(key)) fail(`lists ${address} twice`);
    seen.add(key);
  });
  return addresses;
}

/** The shard addresses from the environment (`FLUX_SHARD_ADDRESSES`). */
export const shardAddressesFromEnv = (env: NodeJS.ProcessEnv = process.env): string[] => parseShardAddresses(env[SHARD_ADDRESSES_ENV]);
