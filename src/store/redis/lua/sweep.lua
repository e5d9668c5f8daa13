-- sweep: apply at most ARGV[2] passed deadlines, earliest first (releases, then expiries).
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] budget, ARGV[3] the sweeping instance's id, or ""
-- for a sweep outside the background loop (tests, tools), ARGV[4] how many events the stream
-- keeps at least (WATCH_RETENTION): trimmed here, a bounded number of entries at a time. Returns how many were applied, or -4
-- when another instance holds the sweeper key: one instance sweeps a backlog at a time, or
-- several would add up to a saturated Redis. The key lasts 3 s past each batch and goes when
-- the backlog is gone. Reads never depend on a sweep (every script applies what it could observe).
local budget, me = tonumber(ARGV[2]), ARGV[3]
if me ~= '' then
  local holder = redis.call('GET', sweeper)
  if holder and holder ~= me then return answer(-4) end
  redis.call('SET', sweeper, me, 'PX', 3000)
end
local applied = apply_due(budget)
redis.call('XTRIM', events_stream, 'MAXLEN', '~', tonumber(ARGV[4]), 'LIMIT', 10 * budget)
if me ~= '' and applied < budget then redis.call('DEL', sweeper) end
return answer(applied)
