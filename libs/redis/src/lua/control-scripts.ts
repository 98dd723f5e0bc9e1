import type { LuaScript } from '../lua-script.js';

/**
 * Control-plane scripts. All keys carry the `{control}` hash tag, so each script stays in one
 * Redis Cluster slot.
 */

/**
 * Creates a namespace and its token index entry together; HSETNX makes exactly one of two
 * concurrent creations of a name win (on any number of gateways).
 * KEYS: 1 namespaces, 2 tokens. ARGV: 1 name, 2 record JSON, 3 token hash. Reply: 1 or 0.
 */
export const CREATE_NAMESPACE: LuaScript = {
  name: 'fluxCreateNamespace',
  lua: `#!lua
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return 1
`,
};

/**
 * Deletes a namespace and its token index entry together, so its token stops working at once.
 * cjson only decodes here (a string field is read); nothing is re-encoded.
 * KEYS: 1 namespaces, 2 tokens. ARGV: 1 name. Reply: 1 deleted, 0 unknown.
 */
export const DELETE_NAMESPACE: LuaScript = {
  name: 'fluxDeleteNamespace',
  lua: `#!lua
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local ok, record = pcall(cjson.decode, json)
if ok and type(record) == 'table' and type(record['tokenHash']) == 'string'
   and redis.call('HGET', KEYS[2], record['tokenHash']) == ARGV[1] then
  redis.call('HDEL', KEYS[2], record['tokenHash'])
end
return 1
`,
};

/**
 * Token hash → namespace record in one round trip (every authenticated request makes it).
 * KEYS: 1 namespaces, 2 tokens. ARGV: 1 token hash. Reply: the record JSON or nil.
 */
export const FIND_NAMESPACE_BY_TOKEN: LuaScript = {
  name: 'fluxFindNamespaceByToken',
  readOnly: true,
  lua: `#!lua flags=no-writes
local name = redis.call('HGET', KEYS[2], ARGV[1])
if not name then return false end
return redis.call('HGET', KEYS[1], name)
`,
};

/*
 * Runtime config: one hash field per config key, the value being that key's JSON. The full
 * config is published from inside the script, so the announcement and the write are one step
 * and watchers see writes in the order they happened. The payload is assembled from the stored
 * JSON values by concatenation (cjson encodes only the field names, which are strings).
 */
const PUBLISH_CONFIG = `
local flat = redis.call('HGETALL', KEYS[1])
local parts = {}
for i = 1, #flat, 2 do parts[#parts + 1] = cjson.encode(flat[i]) .. ':' .. flat[i + 1] end
redis.call('PUBLISH', ARGV[1], '{' .. table.concat(parts, ',') .. '}')
return flat
`;

/**
 * Replaces the whole config. KEYS: 1 config. ARGV: 1 channel, 2.. field, JSON pairs.
 * Reply: the stored hash as [field, JSON, ...].
 */
export const PUT_RUNTIME_CONFIG: LuaScript = {
  name: 'fluxPutRuntimeConfig',
  lua: `#!lua
redis.call('DEL', KEYS[1])
if #ARGV > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 2)) end
${PUBLISH_CONFIG}`,
};

/**
 * Merges a partial update into the stored config atomically: fields not in the update keep
 * what any other gateway wrote, so two concurrent updates of different keys both survive.
 * Fields missing from the store are first filled from the caller's base (HSETNX).
 * KEYS: 1 config. ARGV: 1 channel, 2 #base pairs, then base pairs, then update pairs.
 * Reply: the stored hash as [field, JSON, ...].
 */
export const UPDATE_RUNTIME_CONFIG: LuaScript = {
  name: 'fluxUpdateRuntimeConfig',
  lua: `#!lua
local nBase = tonumber(ARGV[2])
local at = 3
for i = at, at + 2 * nBase - 1, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
at = at + 2 * nBase
if #ARGV >= at then redis.call('HSET', KEYS[1], unpack(ARGV, at)) end
${PUBLISH_CONFIG}`,
};
