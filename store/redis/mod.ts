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
 * have their own). Tested in `tests/store/redis/url_test.ts` for parsing, and against one real
 * sentinel in `tests/store/redis/sentinel_test.ts`.
 *
 * Not supported: Redis Cluster (the scripts touch several keys that would need one hash slot).
 *
 * @module
 */

import type { RedisOptions } from "ioredis";
import { StoreError, StoreErrorCode } from "../errors.ts";
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

/** Default port of a Redis server. */
const REDIS_PORT = 6379;
/** Default port of a Redis Sentinel. */
const SENTINEL_PORT = 26379;
/** Highest Redis database index accepted in a URL (Redis's default `databases 16`). */
const MAX_DB = 15;

function badUrl(shown: string, reason: string): StoreError {
  return new StoreError(
    StoreErrorCode.BadUrl,
    `Cannot use store URL ${shown}: ${reason}`,
  );
}

function parseHostPort(
  text: string,
  defaultPort: number,
  shown: string,
): { host: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) {
    throw badUrl(shown, `host:port expected, got ${JSON.stringify(text)}`);
  }
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) {
    throw badUrl(shown, `port out of range: ${port}`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

function parseDb(text: string | undefined, shown: string): number {
  if (text === undefined || text === "") return 0;
  if (!/^\d{1,2}$/.test(text) || Number(text) > MAX_DB) {
    throw badUrl(
      shown,
      `database index 0..${MAX_DB} expected, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

/**
 * ioredis connection options from a store URL.
 *
 * @param url `redis://[[user]:password@]host[:port][/db]`, `rediss://…` (TLS, certificates
 *   checked), or `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/master[/db]`.
 * @param shown The URL as it may be shown (password replaced), for error messages.
 * @throws {StoreError} `STORE_BAD_URL` naming what is wrong (never the password).
 *
 * @example
 * ```ts
 * import { redisOptionsFromUrl } from "./mod.ts";
 * const o = redisOptionsFromUrl("redis+sentinel://:pw@10.0.0.1,10.0.0.2:26380/main/2", "…");
 * if (o.name !== "main" || o.db !== 2 || o.sentinels?.length !== 2) throw new Error();
 * ```
 */
export function redisOptionsFromUrl(url: string, shown: string): RedisOptions {
  const m =
    /^(redis|rediss|redis\+sentinel):\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i
      .exec(url);
  if (!m) throw badUrl(shown, "expected redis://host[:port][/db]");
  const scheme = m[1]!.toLowerCase();
  const [user = "", password = ""] = (m[2] ?? "").split(/:(.*)/s, 2).map((s) =>
    decodeURIComponent(s)
  );
  const auth: RedisOptions = {};
  if (user) auth.username = user;
  if (password) auth.password = password;
  const query = new URLSearchParams(m[5] ?? "");
  const path = (m[4] ?? "").split("/").filter((s) => s !== "");
  if (m[3] === "") throw badUrl(shown, "no host");
  if (scheme === "redis+sentinel") {
    const sentinels = m[3]!.split(",").map((h) =>
      parseHostPort(h, SENTINEL_PORT, shown)
    );
    const name = path[0];
    if (!name) {
      throw badUrl(
        shown,
        "no master name (redis+sentinel://host:26379/MASTER)",
      );
    }
    if (path.length > 2) throw badUrl(shown, "path must be /MASTER[/DB]");
    const options: RedisOptions = {
      ...auth,
      sentinels,
      name,
      db: parseDb(path[1], shown),
    };
    const sentinelPassword = query.get("sentinelPassword");
    if (sentinelPassword) options.sentinelPassword = sentinelPassword;
    return options;
  }
  if (m[3]!.includes(",")) {
    throw badUrl(shown, "one host only (use redis+sentinel:// for several)");
  }
  if (path.length > 1) throw badUrl(shown, "path must be /DB");
  const { host, port } = parseHostPort(m[3]!, REDIS_PORT, shown);
  const options: RedisOptions = {
    ...auth,
    host,
    port,
    db: parseDb(path[0], shown),
  };
  // rediss: TLS with Node's default CAs and host name check (RFC 6125).
  if (scheme === "rediss") options.tls = {};
  return options;
}

/**
 * Opens a {@link RedisStore} from a store URL.
 *
 * @param shown The URL with any password replaced: what logs and `health()` show.
 * @throws {StoreError} `STORE_BAD_URL` or `STORE_OPEN_FAILED`.
 */
export function openRedisStore(
  url: string,
  shown: string,
  options: Omit<RedisStoreOptions, "location"> = {},
): Promise<RedisStore> {
  return RedisStore.open(redisOptionsFromUrl(url, shown), {
    ...options,
    location: shown,
  });
}
