#!lua
-- Applies one reducer batch of a partition: the fence check and every write of the commit in
-- ONE script, so state, history, counts, the applied offset and the change records are written
-- together or not at all (invariants 1 and 2). The argument layout is built by
-- `encodeCommit` (commit-arguments.ts); keep the two in step.
--
-- KEYS: 1 meta, 2 entities, 3 ids, 4 counts, 5 changes, 6 expiries, 7.. one history list per
--       entity.
-- ARGV: 1 epoch, 2 lastOffset, 3 eventsApplied, 4 history bound, 5 oldest offset the change
--       stream keeps, 6 #deletes, 7 #upserts, 8 #count deltas, 9 the commit's change summaries
--       (JSON text, '' when none), 10 the commit's change records (JSON text, '' when none),
--       11 #expiries set, 12 #expiries removed, then in order:
--       deletes (id) | upserts (id, entity JSON) | count deltas (key, delta) |
--       history sizes (one per history key) | history JSON (grouped by key, oldest first) |
--       expiries set (epoch ms, id) | expiries removed (id).
--
-- Entity and event JSON pass through as opaque strings: Lua never decodes or re-encodes them
-- (cjson would turn 9007199254740991 into 9.007199254741e+15 and `{}` into `[]`).
--
-- Redis does not roll back a script that fails half-way, so everything that could fail is
-- checked before the first write: the fence, the offset, and the type of every key. The
-- `#!lua` shebang makes Redis (7+) refuse the whole script up front when it is out of memory,
-- instead of failing at some write in the middle.
--
-- Replies: {'ok'}; {'fenced', stored epoch}; {'applied', stored offset} when the commit's
-- offset is already reflected (a resent command), nothing written; {'wrongtype', key}.
local meta, entities, ids, counts, changes, expiries = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

-- The fence: only the newest claim may write.
local stored = redis.call('HMGET', meta, 'epoch', 'offset')
if stored[1] ~= ARGV[1] then return {'fenced', stored[1] or ''} end

-- Exactly once: a commit whose offset the partition already reflects changes nothing (it can
-- only be a resent command; the owner's offsets only grow).
local lastOffset = tonumber(ARGV[2])
if stored[2] and lastOffset <= tonumber(stored[2]) then return {'applied', stored[2]} end

local function wrong_type(key, wanted)
  local actual = redis.call('TYPE', key)['ok']
  return actual ~= 'none' and actual ~= wanted
end
local expected = { 'hash', 'hash', 'zset', 'hash', 'stream', 'zset' }
for i = 1, 6 do
  if wrong_type(KEYS[i], expected[i]) then return {'wrongtype', KEYS[i]} end
end

local historyMax = tonumber(ARGV[4])
local nDeletes, nUpserts, nCounts = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local nExpirySets, nExpiryRemovals = tonumber(ARGV[11]), tonumber(ARGV[12])

-- unpack() is bounded by Lua's C stack (8000 slots): pass arguments in pieces.
local CHUNK = 1000
local function call_chunked(command, key, first, last, width)
  local reply
  local i = first
  while i <= last do
    local j = math.min(last, i + CHUNK * width - 1)
    reply = redis.call(command, key, unpack(ARGV, i, j))
    i = j + 1
  end
  return reply
end
local function index_ids(first, last, step)
  local members = {}
  for i = first, last, step do
    members[#members + 1] = '0'
    members[#members + 1] = ARGV[i]
    if #members >= 2 * CHUNK then
      redis.call('ZADD', ids, unpack(members))
      members = {}
    end
  end
  if #members > 0 then redis.call('ZADD', ids, unpack(members)) end
end

-- History first, before any other write: a history key of another type (one per entity, too
-- many to TYPE-check each) fails its LPUSH, and the lists pushed so far are popped again, so
-- the script still writes nothing. Oldest first, so after LPUSH the newest entry is at the head.
-- Trimming waits until every push succeeded: what LTRIM drops could not be put back.
local nHistoryKeys = #KEYS - 6
local at = 13 + nDeletes + 2 * nUpserts + 2 * nCounts
local entry = at + nHistoryKeys
local pushed, lengths = {}, {}
for k = 1, nHistoryKeys do
  local key = KEYS[6 + k]
  local n = tonumber(ARGV[at + k - 1])
  pushed[k], lengths[k] = 0, 0
  if n > 0 then
    local first = math.min(entry + n - 1, entry + CHUNK - 1)
    local length = redis.pcall('LPUSH', key, unpack(ARGV, entry, first))
    if type(length) == 'table' then
      for p = 1, k - 1 do
        if pushed[p] > 0 then redis.call('LPOP', KEYS[6 + p], pushed[p]) end
      end
      return {'wrongtype', key}
    end
    if first < entry + n - 1 then length = call_chunked('LPUSH', key, first + 1, entry + n - 1, 1) end
    pushed[k], lengths[k] = n, length
    entry = entry + n
  end
end
for k = 1, nHistoryKeys do
  if lengths[k] > historyMax then redis.call('LTRIM', KEYS[6 + k], 0, historyMax - 1) end
end

-- The expiry index, scored by epoch milliseconds (ZADD moves a member that has a score).
if nExpirySets > 0 then
  call_chunked('ZADD', expiries, entry, entry + 2 * nExpirySets - 1, 2)
  entry = entry + 2 * nExpirySets
end
if nExpiryRemovals > 0 then call_chunked('ZREM', expiries, entry, entry + nExpiryRemovals - 1, 1) end

at = 13

-- Deletes before upserts: an id in both ends up with its upserted state.
if nDeletes > 0 then
  call_chunked('HDEL', entities, at, at + nDeletes - 1, 1)
  call_chunked('ZREM', ids, at, at + nDeletes - 1, 1)
  at = at + nDeletes
end

if nUpserts > 0 then
  call_chunked('HSET', entities, at, at + 2 * nUpserts - 1, 2)
  index_ids(at, at + 2 * nUpserts - 1, 2)
  at = at + 2 * nUpserts
end

for i = at, at + 2 * nCounts - 1, 2 do
  if redis.call('HINCRBY', counts, ARGV[i], ARGV[i + 1]) == 0 then redis.call('HDEL', counts, ARGV[i]) end
end

if ARGV[3] ~= '0' then redis.call('HINCRBY', meta, 'events', ARGV[3]) end
redis.call('HSET', meta, 'offset', ARGV[2])

-- One stream entry per commit, id <lastOffset>-1: above every earlier commit's, since
-- lastOffset grew. Entries of offsets older than ARGV[5] are trimmed (approximately: whole
-- stream nodes at a time), which bounds the stream by log offsets, not by commit sizes.
-- The entry also holds the commit's change records, which subscribers resuming from a position
-- replay (a change record belongs to an entity the commit touched, so it has a summary too).
if ARGV[9] ~= '' then
  if ARGV[10] ~= '' then
    redis.call('XADD', changes, 'MINID', '~', ARGV[5], ARGV[2] .. '-1', 'changes', ARGV[9], 'records', ARGV[10])
  else
    redis.call('XADD', changes, 'MINID', '~', ARGV[5], ARGV[2] .. '-1', 'changes', ARGV[9])
  end
end

return {'ok'}
