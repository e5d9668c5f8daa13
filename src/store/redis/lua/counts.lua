-- counts: keys held by state, O(1) (cardinalities only; passed deadlines count until applied).
-- KEYS: see prelude. ARGV[1] now|"" (unused). Answers {total, available, blocked}.
return answer({redis.call('ZCARD', expiry), redis.call('SCARD', available), redis.call('ZCARD', release)})
