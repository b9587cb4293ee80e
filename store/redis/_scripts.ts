/**
 * Lua scripts of {@link RedisStore} (module-private). Redis runs a script atomically, so each
 * read-check-write is one round trip with no retry loop (KV needs optimistic retries); ioredis
 * sends them by EVALSHA and falls back to EVAL once when the server does not know the script.
 *
 * @module
 */

/**
 * Creates a token unless the value is taken. KEYS: token hash. ARGV: record JSON, ttl ms.
 * Returns 1 when created, 0 when taken.
 */
export const CREATE_TOKEN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[1], 'u', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * Spends one use. KEYS: token hash, tombstone. ARGV: now (Unix ms), "1" when an app is given,
 * the app. Returns `{1, record JSON, uses}` or `{0, reason}`; nothing changes on a refusal.
 */
export const SPEND_TOKEN = `
local rec = redis.call('HGET', KEYS[1], 'r')
if not rec then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {0, 'revoked'} end
  return {0, 'unknown'}
end
local r = cjson.decode(rec)
if tonumber(ARGV[1]) >= r.expiresAtMs then return {0, 'expired'} end
if ARGV[2] == '1' and r.app ~= cjson.null and r.app ~= ARGV[3] then
  return {0, 'wrong_app'}
end
local used = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
if r.maxUses > 0 and used >= r.maxUses then return {0, 'used_up'} end
return {1, rec, redis.call('HINCRBY', KEYS[1], 'u', 1)}`;

/**
 * Appends one feed event. KEYS: feed stream, seq counter. ARGV: event JSON, retention ms.
 * Entries older than the retention (by the server's clock) are trimmed as it goes.
 * Returns the new seq.
 */
export const PUBLISH = `
local seq = redis.call('INCR', KEYS[2])
local t = redis.call('TIME')
local minMs = tonumber(t[1]) * 1000 - tonumber(ARGV[2])
redis.call('XADD', KEYS[1], 'MINID', '~', string.format('%.0f', minMs), '*', 's', seq, 'e', ARGV[1])
return seq`;

/**
 * Revokes a token: deletes it, leaves a tombstone and publishes \`token.revoked\`, in one step.
 * KEYS: token hash, tombstone, feed stream, seq counter. ARGV: now (Unix ms), grace ms,
 * retention ms. Returns the token's expiry (Unix ms), or 0 when the token is unknown.
 */
export const REVOKE_TOKEN = `
local rec = redis.call('HGET', KEYS[1], 'r')
if not rec then return 0 end
local r = cjson.decode(rec)
local expiresAtMs = r.expiresAtMs
redis.call('DEL', KEYS[1])
local ttl = math.max(1, expiresAtMs - tonumber(ARGV[1])) + tonumber(ARGV[2])
redis.call('SET', KEYS[2], string.format('%.0f', expiresAtMs), 'PX', string.format('%.0f', ttl))
-- Written by hand: cjson prints numbers with 14 significant digits, too few for Unix ms.
local event = '{"kind":"token.revoked","token":' .. cjson.encode(r.token) ..
  ',"expiresAtMs":' .. string.format('%.0f', expiresAtMs) .. '}'
local seq = redis.call('INCR', KEYS[4])
local t = redis.call('TIME')
local minMs = tonumber(t[1]) * 1000 - tonumber(ARGV[3])
redis.call('XADD', KEYS[3], 'MINID', '~', string.format('%.0f', minMs), '*', 's', seq, 'e', event)
return expiresAtMs`;
