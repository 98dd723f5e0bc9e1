import { readFileSync } from 'node:fs';
import type { LuaScript } from '../lua-script.js';

/**
 * The Redis scripts, kept as `.lua` files beside this module (each documents its KEYS, ARGV
 * and reply) and read once when the module loads: a missing file fails the process at start,
 * not at the first write.
 */
function script(file: string, name: string, options: { readOnly?: boolean; append?: string } = {}): LuaScript {
  const read = (base: string): string => readFileSync(new URL(`./${base}.lua`, import.meta.url), 'utf8');
  const lua = read(file) + (options.append === undefined ? '' : read(options.append));
  return { name, lua, ...(options.readOnly === true ? { readOnly: true } : {}) };
}

// State: one partition's commit and claim (the fence), and raw hash reads.
export const COMMIT_PARTITION = script('commit-partition', 'fluxCommitPartition');
export const CLAIM_PARTITION = script('claim-partition', 'fluxClaimPartition');
export const HASH_ENTRIES = script('hash-entries', 'fluxHashEntries', { readOnly: true });

// Control plane: every key carries the `{control}` hash tag, so each script stays in one
// Redis Cluster slot.
export const CREATE_NAMESPACE = script('create-namespace', 'fluxCreateNamespace');
export const DELETE_NAMESPACE = script('delete-namespace', 'fluxDeleteNamespace');
export const FIND_NAMESPACE_BY_TOKEN = script('find-namespace-by-token', 'fluxFindNamespaceByToken', { readOnly: true });
export const PUT_RUNTIME_CONFIG = script('put-runtime-config', 'fluxPutRuntimeConfig', { append: 'publish-config' });
export const UPDATE_RUNTIME_CONFIG = script('update-runtime-config', 'fluxUpdateRuntimeConfig', { append: 'publish-config' });

// Rate limits, gateway presence and connector poll leases.
export const TAKE_TOKENS = script('take-tokens', 'fluxTakeTokens');
export const REPORT_PRESENCE = script('report-presence', 'fluxReportPresence');
export const ACQUIRE_LEASE = script('acquire-lease', 'fluxAcquireLease');
export const RENEW_LEASE = script('renew-lease', 'fluxRenewLease');
export const RELEASE_LEASE = script('release-lease', 'fluxReleaseLease');

// Elastic reducers: membership leases and the partition map, all under the `{flux-reducers}` tag.
export const REDUCER_HEARTBEAT = script('reducer-heartbeat', 'fluxReducerHeartbeat');
export const PUBLISH_OWNER = script('publish-owner', 'fluxPublishOwner');
export const RELEASE_OWNER = script('release-owner', 'fluxReleaseOwner');
