/**
 * Where the shared store lives, from `store.url` (or the older `store.path`): which backend,
 * its parsed address, and a form safe to show (any password replaced). Pure: config validation
 * uses it too, so a bad URL stops start-up naming the key.
 *
 * | `store.url` | backend |
 * | --- | --- |
 * | `""` | Deno KV file `${dataDir}/meridian.kv` (or `store.path` when set) |
 * | `kv:./data/meridian.kv`, `kv:/srv/m.kv` | Deno KV file |
 * | `kv:https://…` | Deno KV Connect (access token in `DENO_KV_ACCESS_TOKEN`) |
 * | `redis://[[user]:password@]host[:port][/db]` | Redis |
 * | `rediss://…` | Redis over TLS |
 * | `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/master[/db]` | Redis via Sentinel |
 *
 * @module
 */

import { StoreError, StoreErrorCode } from "./errors.ts";

/** File name of the KV database inside the data directory. */
export const DEFAULT_KV_FILE = "meridian.kv";
/** Default port of a Redis server. */
export const REDIS_PORT = 6379;
/** Default port of a Redis Sentinel. */
export const SENTINEL_PORT = 26379;
/** Highest Redis database index accepted (Redis's default `databases 16`). */
export const MAX_REDIS_DB = 15;
/** What a hidden password reads in a shown URL. */
export const HIDDEN_PASSWORD = "***";

/** One Redis server or sentinel. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** A parsed store location. `shown` never holds a password. */
export type StoreLocation =
  | {
    readonly backend: "kv";
    /** A file path or a KV Connect URL, as `Deno.openKv` takes it. */
    readonly path: string;
    readonly shown: string;
  }
  | {
    readonly backend: "redis";
    readonly mode: "standalone" | "sentinel";
    readonly tls: boolean;
    /** The server (standalone) or the sentinels. */
    readonly hosts: readonly HostPort[];
    /** Sentinel master name; "" when standalone. */
    readonly masterName: string;
    readonly db: number;
    readonly username: string;
    readonly password: string;
    /** The sentinels' own password (`?sentinelPassword=`); "" when none. */
    readonly sentinelPassword: string;
    readonly shown: string;
  };

const SCHEMES =
  "kv:PATH, kv:https://…, redis://…, rediss://… or redis+sentinel://…";

/**
 * The URL with the password of its user info (and a `sentinelPassword` query value) replaced
 * by {@link HIDDEN_PASSWORD}; other text unchanged.
 *
 * @example
 * ```ts
 * import { redactStoreUrl } from "./url.ts";
 * if (redactStoreUrl("redis://app:pa55@10.0.0.1:6379/0") !== "redis://app:***@10.0.0.1:6379/0") throw new Error();
 * if (redactStoreUrl("kv:./data/m.kv") !== "kv:./data/m.kv") throw new Error();
 * ```
 */
export function redactStoreUrl(url: string): string {
  return url
    // Up to the last "@": a malformed URL may hold "/" or "@" inside its password.
    .replace(/^([^/]*\/\/[^:@/]*):.*@/s, `$1:${HIDDEN_PASSWORD}@`)
    .replace(/([?&]sentinelPassword=)[^&#]*/gi, `$1${HIDDEN_PASSWORD}`);
}

function bad(url: string, reason: string): StoreError {
  return new StoreError(
    StoreErrorCode.BadUrl,
    `Cannot use store URL ${redactStoreUrl(url)}: ${reason}`,
  );
}

function parseHostPort(
  text: string,
  defaultPort: number,
  url: string,
): HostPort {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw bad(url, `host[:port] expected, got ${JSON.stringify(text)}`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) {
    throw bad(url, `port 1..65535 expected, got ${port}`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

function parseDb(text: string | undefined, url: string): number {
  if (text === undefined || text === "") return 0;
  if (!/^\d{1,2}$/.test(text) || Number(text) > MAX_REDIS_DB) {
    throw bad(
      url,
      `database index 0..${MAX_REDIS_DB} expected, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

function decode(text: string, url: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw bad(url, "user info is not valid percent-encoding");
  }
}

/**
 * Parses a `store.url` value (see the module table).
 *
 * @throws {StoreError} `STORE_BAD_URL` saying what is wrong; the message never holds the
 *   password.
 *
 * @example
 * ```ts
 * import { parseStoreUrl } from "./url.ts";
 * const l = parseStoreUrl("redis+sentinel://:pw@10.0.0.1,10.0.0.2:26380/main/2");
 * if (l.backend !== "redis" || l.masterName !== "main" || l.db !== 2 || l.hosts.length !== 2) throw new Error();
 * if (l.shown.includes("pw")) throw new Error("password shown");
 * ```
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (/^kv:/i.test(url)) {
    const path = url.slice(3);
    if (path === "") {
      throw bad(url, "kv: needs a file path or a KV Connect URL");
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path) && !/^https?:\/\//i.test(path)) {
      throw bad(url, "kv: takes a file path or an http(s) KV Connect URL");
    }
    return { backend: "kv", path, shown: url };
  }
  const m =
    /^(redis|rediss|redis\+sentinel):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i
      .exec(url);
  if (!m) throw bad(url, `expected ${SCHEMES}`);
  const scheme = m[1]!.toLowerCase();
  const info = m[2] ?? "";
  const colon = info.indexOf(":");
  const username = decode(colon < 0 ? info : info.slice(0, colon), url);
  const password = colon < 0 ? "" : decode(info.slice(colon + 1), url);
  const path = (m[4] ?? "").split("/").filter((s) => s !== "");
  const query = new URLSearchParams(m[5] ?? "");
  for (const k of query.keys()) {
    if (k !== "sentinelPassword" || scheme !== "redis+sentinel") {
      throw bad(url, `unknown query parameter ${JSON.stringify(k)}`);
    }
  }
  if (m[3] === "") throw bad(url, "no host");
  const common = {
    backend: "redis",
    username,
    password,
    shown: redactStoreUrl(url),
  } as const;
  if (scheme === "redis+sentinel") {
    const hosts = m[3]!.split(",").map((h) =>
      parseHostPort(h, SENTINEL_PORT, url)
    );
    if (!path[0]) {
      throw bad(url, "no master name (redis+sentinel://host:26379/MASTER)");
    }
    if (path.length > 2) throw bad(url, "path must be /MASTER[/DB]");
    return {
      ...common,
      mode: "sentinel",
      tls: false,
      hosts,
      masterName: decode(path[0], url),
      db: parseDb(path[1], url),
      sentinelPassword: query.get("sentinelPassword") ?? "",
    };
  }
  if (m[3]!.includes(",")) {
    throw bad(url, "one host only (redis+sentinel:// takes several)");
  }
  if (path.length > 1) throw bad(url, "path must be /DB");
  return {
    ...common,
    mode: "standalone",
    tls: scheme === "rediss",
    hosts: [parseHostPort(m[3]!, REDIS_PORT, url)],
    masterName: "",
    db: parseDb(path[0], url),
    sentinelPassword: "",
  };
}

/**
 * The store's location from its config section: `url` when set, else `path` (the older key: a
 * KV file path or KV Connect URL), else the KV file `${dataDir}/meridian.kv`.
 *
 * @throws {StoreError} `STORE_BAD_URL` for a malformed `url`.
 *
 * @example
 * ```ts
 * import { resolveStoreLocation } from "./url.ts";
 * const l = resolveStoreLocation({ url: "", path: "" }, "./data");
 * if (l.backend !== "kv" || l.path !== "./data/meridian.kv") throw new Error();
 * ```
 */
export function resolveStoreLocation(
  config: { readonly url?: string; readonly path: string },
  dataDir: string,
): StoreLocation {
  if (config.url) return parseStoreUrl(config.url);
  const path = config.path === ""
    ? `${dataDir}/${DEFAULT_KV_FILE}`
    : config.path;
  return { backend: "kv", path, shown: path };
}

/** The reason `value` is not a valid `store.url`, or `undefined` when it is (config check). */
export function storeUrlProblem(value: unknown): string | undefined {
  if (value === "") return undefined;
  if (typeof value !== "string") return `"" or ${SCHEMES}`;
  try {
    parseStoreUrl(value);
    return undefined;
  } catch (err) {
    const prefix = `Cannot use store URL ${redactStoreUrl(value)}: `;
    const msg = err instanceof Error ? err.message : "";
    return `"" or ${SCHEMES} (${
      msg.startsWith(prefix) ? msg.slice(prefix.length) : msg
    })`;
  }
}
