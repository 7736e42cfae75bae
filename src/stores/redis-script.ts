/**
 * The Lua script behind `leasehold/redis`: every operation of the Redis store is one call of it (one round trip),
 * atomic on the server, with expiry judged by the server's `TIME`.
 *
 * The lease is one hash (`KEYS[1]`), never given a Redis TTL, so its fencing token outlives releases and expiries:
 * `h` holder (absent after a release), `t` token, `a` acquired at, `e` expires at (both microseconds on the
 * server's clock), `v` version, `d` data (absent when none). Every operation answers
 * `{ok, h, t, a, e, v, d, now}`: `ok` 1 when it wrote (or, for a read, always), the record after the attempt (`v`
 * false when there is none) and the server's clock in microseconds.
 *
 * Operations (`ARGV[1]`):
 * - `c` claim (holder, ttl ms, version, [data]): create, or renew if mine and live (same term: token and acquired
 *   kept), or take over if released or expired (token + 1); otherwise refuse and report the holder.
 * - `g` read.
 * - `n` create (holder or '', token, acquired ms or '', ttl ms, version, [data]): only if there is no record.
 * - `x` replace (expected version, then as create): only if the record's version is the expected one.
 * - `r` release (holder, version, expected version or ''): clears the holder (keeping the token) only if
 *   `holder` holds it (and, with an expected version, only in exactly that state).
 *
 * Each write stamps its times from `TIME` at execution, so a script delivered late (a reply lost, a client that
 * resends on reconnect) never moves an expiry backwards, and its conditions pin the state it was sent for.
 * `TIME` before a write is allowed because scripts replicate their effects (the default since Redis 5, the only
 * mode since 7, and Valkey's).
 *
 * {@link REDIS_SCRIPT_SHA} is this text's SHA-1, fixed here (the core has no hash function to spare); a test checks
 * it against the server's `SCRIPT LOAD`.
 * @module
 */

/** The script's source. Keep {@link REDIS_SCRIPT_SHA} in step with it (test/stores/redis.test.ts checks). */
export const REDIS_SCRIPT = `-- leasehold lease script (see src/stores/redis-script.ts)
local key = KEYS[1]
local op = ARGV[1]
local clock = redis.call('TIME')
local now = clock[1] * 1000000 + clock[2]
local r = redis.call('HMGET', key, 'h', 't', 'a', 'e', 'v', 'd')
local function report(ok)
  return {ok, r[1], r[2], r[3], r[4], r[5], r[6], now}
end
local function put(holder, token, acquired, expires, version, data)
  if holder then
    redis.call('HSET', key, 'h', holder, 't', token, 'a', acquired, 'e', expires, 'v', version)
  else
    redis.call('HSET', key, 't', token, 'a', acquired, 'e', expires, 'v', version)
    if r[1] then redis.call('HDEL', key, 'h') end
  end
  if data then redis.call('HSET', key, 'd', data) elseif r[6] then redis.call('HDEL', key, 'd') end
  r = {holder or false, token, acquired, expires, version, data or false}
  return report(1)
end
if op == 'c' then
  local holder = ARGV[2]
  local expires = now + math.floor(ARGV[3] * 1000)
  if not r[5] then
    return put(holder, 1, now, expires, ARGV[4], ARGV[5])
  end
  local live = r[1] and tonumber(r[4]) > now
  if live and r[1] == holder then
    return put(holder, r[2], r[3], expires, ARGV[4], ARGV[5])
  end
  if live then return report(0) end
  return put(holder, r[2] + 1, now, expires, ARGV[4], ARGV[5])
end
if op == 'g' then return report(1) end
if op == 'r' then
  if r[1] ~= ARGV[2] or (ARGV[4] ~= '' and r[5] ~= ARGV[4]) then return report(0) end
  return put(nil, r[2], r[3], now, ARGV[3], nil)
end
local at = 2
if op == 'x' then
  if r[5] ~= ARGV[2] then return report(0) end
  at = 3
elseif op ~= 'n' or r[5] then
  return report(0)
end
local holder = ARGV[at]
if holder == '' then holder = nil end
local acquired = now
if ARGV[at + 2] ~= '' then acquired = math.floor(ARGV[at + 2] * 1000 + 0.5) end
return put(holder, ARGV[at + 1], acquired, now + math.floor(ARGV[at + 3] * 1000), ARGV[at + 4], ARGV[at + 5])
`;

/** SHA-1 of {@link REDIS_SCRIPT}: what `EVALSHA` names it by. */
export const REDIS_SCRIPT_SHA = '91eaf518c3311a036a3400a45275881d5425fb0b';
