-- counts: keys held by state, O(1) (cardinalities only; passed deadlines count until applied).
-- KEYS: see prelude. ARGV[1] now|"" (unused). Answers {total, available, leased, cooling}.
local leased = redis.call('HLEN', lease)
return answer({redis.call('ZCARD', expiry), redis.call('SCARD', available), leased, redis.call('ZCARD', release) - leased})
