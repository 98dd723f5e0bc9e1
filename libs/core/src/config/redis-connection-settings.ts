import { readSecret, readTlsMaterial, type TlsMaterial } from './service-security.js';
import type { EnvReader } from './settings.js';

/** How the Redis nodes are organised; REDIS_URL names the node contacted first in each. */
export type RedisTopology =
  | { readonly kind: 'standalone' }
  /** Redis Cluster: REDIS_URL and `seeds` are nodes the client learns the slot map from. */
  | { readonly kind: 'cluster'; readonly seeds: readonly string[] }
  /** Sentinel: REDIS_URL and `sentinels` are sentinels; the client asks them for `master`. */
  | { readonly kind: 'sentinel'; readonly master: string; readonly sentinels: readonly string[]; readonly sentinelPassword: string | undefined };

/** Everything needed to open the Redis client of a process of the distributed topology. */
export interface RedisConnectionSettings {
  /** redis:// or rediss:// (TLS); credentials and database in it are used unless overridden. */
  readonly url: string;
  /** ACL user and password (FLUX_REDIS_USERNAME, FLUX_REDIS_PASSWORD[_FILE]); override the URL's. */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** CA and client certificate for a rediss:// URL; undefined: the system's CAs. */
  readonly tls: TlsMaterial | undefined;
  readonly topology: RedisTopology;
}

const ADDRESS = /^[^\s:]+:\d{1,5}$/;

function addresses(read: EnvReader, name: string): string[] {
  const list = (read.optionalString(name) ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
  if (list.some((address) => !ADDRESS.test(address))) read.problems.push(`${name} must be host:port[,host:port...]`);
  return list;
}

function readTopology(read: EnvReader): RedisTopology {
  const cluster = read.boolean('FLUX_REDIS_CLUSTER', false);
  const seeds = addresses(read, 'FLUX_REDIS_CLUSTER_NODES');
  const master = read.optionalString('FLUX_REDIS_SENTINEL_MASTER');
  const sentinels = addresses(read, 'FLUX_REDIS_SENTINELS');
  const sentinelPassword = readSecret(read, 'FLUX_REDIS_SENTINEL_PASSWORD');
  if (cluster && master !== undefined) read.problems.push('FLUX_REDIS_CLUSTER and FLUX_REDIS_SENTINEL_MASTER exclude each other');
  if (!cluster && seeds.length > 0) read.problems.push('FLUX_REDIS_CLUSTER_NODES needs FLUX_REDIS_CLUSTER=true');
  if (master === undefined && (sentinels.length > 0 || sentinelPassword !== undefined)) {
    read.problems.push('FLUX_REDIS_SENTINELS and FLUX_REDIS_SENTINEL_PASSWORD need FLUX_REDIS_SENTINEL_MASTER');
  }
  if (cluster) return { kind: 'cluster', seeds };
  if (master !== undefined) return { kind: 'sentinel', master, sentinels, sentinelPassword };
  return { kind: 'standalone' };
}

/** REDIS_URL and the FLUX_REDIS_* connection variables (all but the key prefix). */
export function readRedisConnection(read: EnvReader): RedisConnectionSettings {
  const url = read.optionalString('REDIS_URL');
  if (url === undefined) read.problems.push('REDIS_URL is required');
  else if (!/^rediss?:\/\/[^/]/.test(url)) read.problems.push('REDIS_URL must be a redis:// or rediss:// URL');
  const tls = readTlsMaterial(read, 'FLUX_REDIS_TLS');
  const tlsFiles = ['CA', 'CERT', 'KEY'].some((kind) => read.optionalString(`FLUX_REDIS_TLS_${kind}_FILE`) !== undefined);
  if (tlsFiles && url !== undefined && !url.startsWith('rediss://')) {
    read.problems.push('FLUX_REDIS_TLS_*_FILE need a rediss:// REDIS_URL');
  }
  return {
    url: url ?? '',
    username: read.optionalString('FLUX_REDIS_USERNAME'),
    password: readSecret(read, 'FLUX_REDIS_PASSWORD'),
    tls,
    topology: readTopology(read),
  };
}
