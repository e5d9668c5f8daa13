-- Shared by every script (prepended at load time). One pool is six Redis keys:
--   KEYS[1] expiry     ZSET  id -> expires_at (ms)   every key
--   KEYS[2] release    ZSET  id -> release_at (ms)   blocked keys only
--   KEYS[3] available  SET   id                      available keys
--   KEYS[4] created    HASH  id -> created_at (ms)
--   KEYS[5] blocked    HASH  id -> blocked_at (ms)   blocked keys only
--   KEYS[6] sweeper    STRING the instance sweeping now, with a TTL (sweep.lua only)
-- ARGV[1] is "now" in ms, or "" to read Redis TIME: one clock for every instance.
-- Deadlines are absolute instants, so a restart of any instance renews nothing.
local expiry, release, available, created, blocked, sweeper = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local now = clock(ARGV[1])

-- Answer of a script that spent its budget of deadline work before its answer was
-- certain: nothing was handed out or refused, and the caller runs it again. Every
-- loop in every script is bounded, because a running script blocks the whole server.
local CATCHING_UP = -3

local function remove(id)
  redis.call('ZREM', expiry, id)
  redis.call('ZREM', release, id)
  redis.call('SREM', available, id)
  redis.call('HDEL', created, id)
  redis.call('HDEL', blocked, id)
end

local function unblock(id)
  redis.call('ZREM', release, id)
  redis.call('HDEL', blocked, id)
  redis.call('SADD', available, id)
end

-- Batches: one command per structure for many ids (at most a budget, far below Lua's
-- 8000-argument limit), so applying a backlog costs a few commands, not a few per key.
local function remove_all(ids)
  if #ids == 0 then return end
  redis.call('ZREM', expiry, unpack(ids))
  redis.call('ZREM', release, unpack(ids))
  redis.call('SREM', available, unpack(ids))
  redis.call('HDEL', created, unpack(ids))
  redis.call('HDEL', blocked, unpack(ids))
end

local function unblock_all(ids)
  if #ids == 0 then return end
  redis.call('ZREM', release, unpack(ids))
  redis.call('HDEL', blocked, unpack(ids))
  redis.call('SADD', available, unpack(ids))
end

-- The ids of a sorted set whose score (deadline) has passed, earliest first, at most `limit`.
local function due(zset, limit)
  if limit <= 0 then return {} end
  return redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'LIMIT', 0, limit)
end

-- The key's expires_at if it still exists at `now`, with a passed release applied; else nil.
local function live(id)
  local expires_at = redis.call('ZSCORE', expiry, id)
  if not expires_at then return nil end
  if tonumber(expires_at) <= now then
    remove(id)
    return nil
  end
  local release_at = redis.call('ZSCORE', release, id)
  if release_at and tonumber(release_at) <= now then unblock(id) end
  return tonumber(expires_at)
end

-- {id, created_at, expires_at, blocked_at or -1, release_at or -1}: integers, no nils (they would cut the array).
local function record(id)
  local release_at = redis.call('ZSCORE', release, id)
  local blocked_at = redis.call('HGET', blocked, id)
  return {
    id,
    tonumber(redis.call('HGET', created, id)),
    tonumber(redis.call('ZSCORE', expiry, id)),
    blocked_at and tonumber(blocked_at) or -1,
    release_at and tonumber(release_at) or -1,
  }
end

-- Applies at most `budget` passed deadlines, releases first; returns how many.
local function apply_due(budget)
  local releases = due(release, budget)
  unblock_all(releases)
  local expiries = due(expiry, budget - #releases)
  remove_all(expiries)
  return #releases + #expiries
end
