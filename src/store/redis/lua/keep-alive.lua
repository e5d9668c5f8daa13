-- keep-alive: expires_at = now + the key's lifetime; it ends no lease or cooldown. With
-- ARGV[3] (a lease), it must be the key's current lease (else -5, LEASE_MISMATCH, nothing
-- changed), and the hold is renewed too: its end = now + the hold's length.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] key id, ARGV[3] lease|"".
-- Answers the record, or nil when not found.
local id, asked = ARGV[2], ARGV[3]
if not live(id) then return answer(nil) end
local current = lease_of(id)
if asked ~= '' and current ~= tonumber(asked) then return answer(LEASE_MISMATCH) end
redis.call('ZADD', expiry, 'XX', now + tonumber(redis.call('HGET', ttl, id)), id)
if asked ~= '' then redis.call('ZADD', release, 'XX', now + tonumber(redis.call('HGET', hold, id)), id) end
emit('KEPT_ALIVE', id, now, current)
return answer(record(id))
