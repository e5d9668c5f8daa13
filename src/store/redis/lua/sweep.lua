-- sweep: apply at most ARGV[2] passed deadlines, earliest first (releases, then expiries).
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] budget. Returns how many were applied.
-- Reads never depend on it (every script applies what it could observe); it reclaims memory.
return apply_due(tonumber(ARGV[2]))
