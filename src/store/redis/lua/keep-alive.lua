-- keep-alive: expires_at = now + key TTL, blocked or not; it does not unblock.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] key id, ARGV[3] key TTL (ms).
-- Answers the record, or nil when not found.
local id, key_ttl = ARGV[2], tonumber(ARGV[3])
if not live(id) then return answer(nil) end
redis.call('ZADD', expiry, 'XX', now + key_ttl, id)
emit('KEPT_ALIVE', id, now)
return answer(record(id))
