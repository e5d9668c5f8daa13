-- next-release: the earliest end of a lease or cooldown (ms), or -1: when a key may next free itself.
-- KEYS: see prelude. ARGV[1] now|"" (unused).
local first = redis.call('ZRANGE', release, 0, 0, 'WITHSCORES')
if #first == 0 then return answer(-1) end
return answer(tonumber(first[2]))
