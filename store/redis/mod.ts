/**
 * The Redis backend of the shared store: `store.url: redis://…`, `rediss://…` (TLS) or
 * `redis+sentinel://…`, for nodes on several machines or regions sharing one Redis 7.
 *
 * Why ioredis (npm `ioredis`, pinned in deno.json) rather than node-redis (npm `redis`): both
 * run under Deno 2 through `npm:` specifiers (checked with Deno 2.9: connect, Lua, blocking
 * `XREAD`, reconnect after a server restart, no leaked resources under `deno test`), but
 * ioredis has Sentinel built into the same client type (`sentinels` + `name`), where
 * node-redis needs a separate sentinel client API; it defines Lua scripts once and sends them by
 * EVALSHA with a transparent EVAL fallback; and its `enableOfflineQueue: false` /
 * `maxRetriesPerRequest: 0` / `autoResendUnfulfilledCommands: false` give exactly the outage
 * behaviour we want (fail at once, never re-send a spend). node-redis's typings are richer,
 * which matters little behind our own typed repository. It is loaded only when `store.url`
 * names Redis (`openStore` imports this folder lazily), so KV-only nodes never load it.
 *
 * Sentinel: `redis+sentinel://[:password@]host1:26379,host2:26379/MASTER_NAME[/DB]`; the
 * password is the data nodes' (`sentinelPassword` via `?sentinelPassword=` when the sentinels
 * have their own). The parsing is tested in `tests/store/url_test.ts`, the connection through
 * one real sentinel in `tests/store/redis/sentinel_test.ts`.
 *
 * Not supported: Redis Cluster (the scripts touch several keys that would need one hash slot).
 *
 * @module
 */

import type { RedisOptions } from "ioredis";
import { StoreError, StoreErrorCode } from "../errors.ts";
import { parseStoreUrl, type StoreLocation } from "../url.ts";
import { RedisStore, type RedisStoreOptions } from "./store.ts";

export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  EXPIRED_GRACE_MS,
  FEED_RETENTION_MS,
  RedisStore,
  type RedisStoreOptions,
} from "./store.ts";
export { DEFAULT_KEY_PREFIX } from "./_keys.ts";

/**
 * ioredis connection options from a parsed Redis store location.
 *
 * @example
 * ```ts
 * import { parseStoreUrl } from "../url.ts";
 * import { redisOptionsOf } from "./mod.ts";
 * const l = parseStoreUrl("redis+sentinel://:pw@10.0.0.1,10.0.0.2:26380/main/2");
 * if (l.backend !== "redis") throw new Error();
 * const o = redisOptionsOf(l);
 * if (o.name !== "main" || o.db !== 2 || o.sentinels?.length !== 2 || o.password !== "pw") throw new Error();
 * ```
 */
export function redisOptionsOf(
  location: Extract<StoreLocation, { backend: "redis" }>,
): RedisOptions {
  const o: RedisOptions = { db: location.db };
  if (location.username) o.username = location.username;
  if (location.password) o.password = location.password;
  if (location.mode === "sentinel") {
    o.sentinels = location.hosts.map((h) => ({ host: h.host, port: h.port }));
    o.name = location.masterName;
    if (location.sentinelPassword) {
      o.sentinelPassword = location.sentinelPassword;
    }
    return o;
  }
  o.host = location.hosts[0]!.host;
  o.port = location.hosts[0]!.port;
  // rediss: TLS with Node's default CAs and host name check (RFC 6125).
  if (location.tls) o.tls = {};
  return o;
}

/**
 * Opens a {@link RedisStore} from a store URL (`redis://`, `rediss://`, `redis+sentinel://`).
 *
 * @throws {StoreError} `STORE_BAD_URL` or `STORE_OPEN_FAILED`; messages show the URL with the
 *   password hidden.
 */
export function openRedisStore(
  url: string,
  options: Omit<RedisStoreOptions, "location"> = {},
): Promise<RedisStore> {
  const location = parseStoreUrl(url);
  if (location.backend !== "redis") {
    throw new StoreError(
      StoreErrorCode.BadUrl,
      `Cannot open a Redis store from ${location.shown}: not a redis URL`,
    );
  }
  return RedisStore.open(redisOptionsOf(location), {
    ...options,
    location: location.shown,
  });
}
