import type { LuaScript } from '../lua-script.js';

/** KEYS: 1 lease. ARGV: 1 holder, 2 TTL ms. Takes a free lease or extends the holder's own; 1 when held. */
export const ACQUIRE_LEASE: LuaScript = {
  name: 'fluxAcquireLease',
  lua: `
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`,
};

/** KEYS: 1 lease. ARGV: 1 holder, 2 TTL ms. Extends the lease only while `holder` still has it. */
export const RENEW_LEASE: LuaScript = {
  name: 'fluxRenewLease',
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`,
};

/** KEYS: 1 lease. ARGV: 1 holder. Deletes the lease only while `holder` still has it. */
export const RELEASE_LEASE: LuaScript = {
  name: 'fluxReleaseLease',
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
};
