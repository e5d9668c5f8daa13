-- acquire: lease one available key chosen uniformly at random (SPOP), under a new lease
-- number (INCR of the pool's seq: larger than every lease before, whichever instance asks).
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] this hold's length (ms), ARGV[3] budget,
-- ARGV[4] release budget (at most the budget; 0 when the calling instance has spent its
-- turn's budget already: the draw is among the keys available now).
-- Answers the record; nil when no key is available; -3 (CATCHING_UP) when the budget
-- was spent before the answer was certain (the caller runs the script again).
-- Work is bounded: at most `budget` passed ends applied, at most `budget` expired draws dropped,
-- each batch in a few commands.
local hold_ms, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
local release_budget = math.min(budget, tonumber(ARGV[4]) or budget)
-- Keys whose lease or cooldown ended join the draw, earliest first; a larger backlog waits its turn.
release_due(release_budget)
-- Drawn keys whose expiry has passed: gone the instant it passed. Dropped together at the end.
local dropped, dropped_at = {}, {}
local function drop_all()
  remove_all(dropped)
  for i = 1, #dropped do emit('EXPIRED', dropped[i], dropped_at[i]) end
end
for _ = 1, budget do
  local id = redis.call('SPOP', available)
  if not id then
    drop_all()
    -- Nothing available: certain only when no passed end still waits.
    if #due(release, 1) > 0 then return answer(CATCHING_UP) end
    return answer(nil)
  end
  local expires_at = tonumber(redis.call('ZSCORE', expiry, id))
  if expires_at > now then
    drop_all()
    local number = redis.call('INCR', seq)
    redis.call('HSET', blocked, id, now)
    redis.call('HSET', lease, id, number)
    redis.call('HSET', hold, id, hold_ms)
    redis.call('ZADD', release, now + hold_ms, id)
    emit('ACQUIRED', id, now, number)
    return answer(record(id))
  end
  dropped[#dropped + 1] = id
  dropped_at[#dropped] = expires_at
end
drop_all()
return answer(CATCHING_UP)
