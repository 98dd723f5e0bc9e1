-- Fragment appended to put-runtime-config.lua and update-runtime-config.lua (Redis scripts
-- cannot include one another). Runtime config is one hash field per config key, the value
-- being that key's JSON. The full config is published from inside the script, so the
-- announcement and the write are one step and watchers see writes in the order they happened.
-- The payload is assembled from the stored JSON values by concatenation (cjson encodes only
-- the field names, which are strings).
local flat = redis.call('HGETALL', KEYS[1])
local parts = {}
for i = 1, #flat, 2 do parts[#parts + 1] = cjson.encode(flat[i]) .. ':' .. flat[i + 1] end
redis.call('PUBLISH', ARGV[1], '{' .. table.concat(parts, ',') .. '}')
return flat
