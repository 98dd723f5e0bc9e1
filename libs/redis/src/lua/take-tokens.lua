#!lua
-- `takeTokens` of libs/domain/src/token-bucket.ts in Lua, operation for operation (Lua numbers
-- are IEEE doubles like JavaScript's, so the same operations give the same results; the
-- comparison test in test/redis-rate-limiter.test.ts holds the two together). Keep both in step.
--
-- The clock is the Redis server's (TIME), so every gateway refills buckets by the same clock.
-- A test may pass its own clock in ARGV[3].
--
-- The bucket's tokens are a fraction: they are stored with %.17g, which round-trips every
-- double exactly (tostring would keep 14 digits). An idle bucket expires a minute after it
-- would have refilled completely: a missing bucket starts full, which is what the refill
-- reaches at the same limit, so idle namespaces cost no memory. (Only a limit raised after such
-- an expiry differs from keeping the bucket forever: the new bucket starts at the new capacity.)
--
-- KEYS: 1 bucket. ARGV: 1 perMinute, 2 requested, 3 now (epoch ms) or ''.
-- Reply: {granted, retryAfterMs, tokens left (%.17g), now}.
local MINUTE_MS = 60000
local perMinute = tonumber(ARGV[1])
local requested = tonumber(ARGV[2])
local now
if ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

local state = redis.call('HMGET', KEYS[1], 'tokens', 'updatedAt')
local capacity = math.max(0, perMinute)
local refilled
if state[1] and state[2] then
  local elapsed = math.max(0, now - tonumber(state[2]))
  refilled = tonumber(state[1]) + (elapsed * capacity) / MINUTE_MS
else
  refilled = capacity
end
-- Clamping on every take also applies a lowered limit to existing buckets at once.
local available = math.min(capacity, refilled)
local granted = math.max(0, math.min(requested, math.floor(available)))
local tokens = available - granted
local retryAfterMs = 0
if granted < requested then
  if capacity == 0 then
    retryAfterMs = MINUTE_MS
  else
    retryAfterMs = math.ceil(((1 - tokens) * MINUTE_MS) / capacity)
    while tokens + (retryAfterMs * capacity) / MINUTE_MS < 1 do retryAfterMs = retryAfterMs + 1 end
  end
end

local encoded = string.format('%.17g', tokens)
local untilFull = 0
if capacity > 0 then untilFull = math.ceil(((capacity - tokens) * MINUTE_MS) / capacity) end
redis.call('HSET', KEYS[1], 'tokens', encoded, 'updatedAt', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], untilFull + MINUTE_MS)
return {granted, retryAfterMs, encoded, string.format('%.17g', now)}
