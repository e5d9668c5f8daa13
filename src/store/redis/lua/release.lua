-- release: end the key's lease: available at once, or cooling for ARGV[4] ms first. A key
-- that is not leased is left as it is. With ARGV[3] (a lease), it must be the key's current
-- lease, or the answer is -5 (LEASE_MISMATCH) and nothing changes.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] key id, ARGV[3] lease|"", ARGV[4] cooldown (ms; 0: none).
-- Answers the record, or nil when not found.
local id, asked, cooldown = ARGV[2], ARGV[3], tonumber(ARGV[4])
if not live(id) then return answer(nil) end
local current = lease_of(id)
if asked ~= '' and current ~= tonumber(asked) then return answer(LEASE_MISMATCH) end
if current then
  if cooldown > 0 then
    redis.call('HDEL', lease, id)
    redis.call('HDEL', hold, id)
    redis.call('HSET', blocked, id, now)
    redis.call('ZADD', release, now + cooldown, id)
    emit('COOLDOWN_STARTED', id, now, current)
  else
    unblock(id)
    emit('RELEASED', id, now, current)
  end
end
return answer(record(id))
