/**
 * The edge role's config section: shape, defaults and constraints.
 *
 * Kept in its own file so the edge can grow without touching the shared schema. The lead wires
 * it in `config/schema.ts` as `edge: EdgeConfig` in {@link MeridianConfig}-style, `edge:
 * EDGE_DEFAULTS` in `DEFAULTS` and `...EDGE_CONSTRAINTS` in `CONSTRAINTS` (every key here starts
 * with `edge.`).
 *
 * @module
 */

import {
  ACCESS_LOG_DEFAULTS,
  type AccessLogConfig,
  accessLogConstraints,
} from "./access_log_schema.ts";
import { type Constraint, intIn, numIn, oneOf } from "./constraints.ts";
import {
  type TlsListenerConfig,
  tlsListenerConstraints,
  tlsListenerDefaults,
} from "./tls_schema.ts";

/** One origin the edge pulls from. */
export interface EdgeOriginConfig {
  /** Base URL, e.g. `http://127.0.0.1:8090` (no path). */
  readonly url: string;
  /** Relative share of requests, 1..1000. */
  readonly weight: number;
  /** Free-form region label for dashboards; "" when unused. */
  readonly region: string;
}

/** The `edge` section. */
export interface EdgeConfig {
  /** Address the edge's HTTP listener binds to. */
  readonly hostname: string;
  /** Viewer port (INTERFACES.md: 8080). 0 picks a free port (tests). */
  readonly port: number;
  /**
   * HTTPS for viewers (8443 by default; 443 in production), beside the HTTP port, on the same
   * handler and cache: on once it has a certificate (`net/tls/`).
   */
  readonly tls: TlsListenerConfig;
  /** Bearer token of `/admin/*`; "" disables the admin API (403). */
  readonly adminToken: string;
  /**
   * The HTTP server: `http1`, Meridian's own HTTP/1.1 server on raw TCP (cache hits written
   * from prebuilt bytes; about 1.3x the requests of Deno.serve per core, see BENCHMARKS.md),
   * or `deno` for Deno.serve (adds automatic response compression and h2c).
   */
  readonly httpServer: "http1" | "deno";
  /** Origins pulled from (smooth weighted round-robin scaled by health). */
  readonly origins: readonly EdgeOriginConfig[];
  readonly cache: {
    /** Byte cap of the in-memory tier (LRU). */
    readonly memoryMaxBytes: number;
    /** Largest object stored; larger ones are served but not kept. */
    readonly maxObjectBytes: number;
    /** Directory of the disk tier for VOD objects; "" disables it. Wiped at start. */
    readonly diskDir: string;
    /** Byte cap of the disk tier. */
    readonly diskMaxBytes: number;
    /** Query parameters never part of a cache key (access tokens, signed-URL credentials). */
    readonly ignoredQueryParams: readonly string[];
    /** Freshness of a live segment when the origin sends no Cache-Control. */
    readonly segmentTtlSeconds: number;
    /** Target duration assumed for a live playlist that does not state one. */
    readonly defaultTargetDurationSeconds: number;
    /** A request waiting on another's origin fetch gives up after this long (ms). */
    readonly collapseWaitMs: number;
  };
  readonly upstream: {
    /** Connect + response-header timeout, and the longest pause inside a body (ms). */
    readonly timeoutMs: number;
    /** Active health check of each origin's `/healthz`. */
    readonly healthCheck: {
      readonly intervalMs: number;
      readonly timeoutMs: number;
      /** Consecutive successes that bring a down origin back. */
      readonly rise: number;
      /** Consecutive failures (active or passive) that take an origin down. */
      readonly fall: number;
    };
    /** A recovered origin's weight ramps from ~0 to full over this long (ms); 0 disables. */
    readonly slowStartMs: number;
  };
  readonly live: {
    /** Viewer writes are coalesced over this interval (ms); 0 writes every tag. */
    readonly flushIntervalMs: number;
    /** A viewer whose unsent bytes pass this cap is dropped (must exceed a GOP burst). */
    readonly maxViewerQueueBytes: number;
    /** A GOP larger than this is not cached for late joiners. */
    readonly maxGopCacheBytes: number;
    /** The upstream connection closes this long after the last viewer leaves (ms). */
    readonly idleCloseMs: number;
    /** How long to keep trying other origins after an upstream loss before ending (ms). */
    readonly reconnectWindowMs: number;
  };
  /**
   * How the edge announces itself in the shared store's edge registry (used only when the
   * process hands the edge a store), so schedulers find it without a static list.
   */
  readonly registry: {
    /** Registry id, `[A-Za-z0-9_.-]{1,64}`; "" derives `{machine hostname}-{bound port}`. */
    readonly id: string;
    /** Region name scheduler network overrides refer to; "" when unused. */
    readonly region: string;
    readonly latitude: number;
    readonly longitude: number;
    /** IPv4 answered in DNS; "" uses `hostname` when it is a concrete IPv4 address. */
    readonly publicAddress: string;
    /** IPv6 answered in DNS (AAAA); "" uses `hostname` when it is a concrete IPv6 address. */
    readonly publicAddress6: string;
    /**
     * Where schedulers reach this edge's HTTP port for health checks; "" derives
     * `http://{hostname or public address}:{bound port}`.
     */
    readonly baseUrl: string;
    /** Egress capacity in bits/s (weights the scheduler's answers, sets reported load). */
    readonly capacityBps: number;
    /** Viewer capacity; 0 is unlimited (load then comes from egress alone). */
    readonly capacityViewers: number;
    /** Seconds between heartbeats; an edge missing 3 in a row drops out of the registry. */
    readonly heartbeatSeconds: number;
  };
  /**
   * How often (ms) the store-backed purge bus polls the shared feed: the bound on purge
   * propagation between edges on different processes or hosts.
   */
  readonly purgePollIntervalMs: number;
  /** One line per viewer request (`log/access/`). */
  readonly accessLog: AccessLogConfig;
}

/** Every edge default; the all-in-one start runs exactly this. */
export const EDGE_DEFAULTS: EdgeConfig = {
  hostname: "127.0.0.1",
  port: 8080,
  tls: tlsListenerDefaults(8443),
  adminToken: "",
  httpServer: "http1",
  origins: [{ url: "http://127.0.0.1:8090", weight: 1, region: "" }],
  cache: {
    memoryMaxBytes: 256 * 1024 * 1024,
    maxObjectBytes: 64 * 1024 * 1024,
    diskDir: "",
    diskMaxBytes: 4 * 1024 * 1024 * 1024,
    ignoredQueryParams: ["token", "key", "cred", "sig", "exp", "expires"],
    segmentTtlSeconds: 86_400,
    defaultTargetDurationSeconds: 2,
    collapseWaitMs: 10_000,
  },
  upstream: {
    timeoutMs: 10_000,
    healthCheck: { intervalMs: 2_000, timeoutMs: 1_000, rise: 2, fall: 3 },
    slowStartMs: 10_000,
  },
  live: {
    flushIntervalMs: 66,
    maxViewerQueueBytes: 4 * 1024 * 1024,
    maxGopCacheBytes: 16 * 1024 * 1024,
    idleCloseMs: 5_000,
    reconnectWindowMs: 10_000,
  },
  registry: {
    id: "",
    region: "",
    latitude: 0,
    longitude: 0,
    publicAddress: "",
    publicAddress6: "",
    baseUrl: "",
    capacityBps: 10_000_000_000,
    capacityViewers: 0,
    heartbeatSeconds: 5,
  },
  purgePollIntervalMs: 100,
  accessLog: ACCESS_LOG_DEFAULTS,
};

/** A constraint: returns the expectation text when violated (as in `config/schema.ts`). */
/** Same as {@link Constraint}; kept as a name for the edge section. */
export type EdgeConstraint = Constraint;

const httpUrl: EdgeConstraint = (v) => {
  if (typeof v !== "string") return "an http:// or https:// URL";
  try {
    const u = new URL(v);
    if (u.protocol !== "http:" && u.protocol !== "https:") {
      return "an http:// or https:// URL";
    }
    if (u.pathname !== "/" || u.search || u.hash) {
      return "an origin URL without path, query or fragment";
    }
    return undefined;
  } catch {
    return "an http:// or https:// URL";
  }
};
const nonEmptyList: EdgeConstraint = (v) =>
  Array.isArray(v) && v.length > 0
    ? undefined
    : "a list of at least one origin";
const GIB = 1024 * 1024 * 1024;
const EDGE_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const IPV4_RE =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const optional = (check: EdgeConstraint): EdgeConstraint => (v) =>
  v === "" ? undefined : check(v);

/** Constraints by dotted key (array items use `[]`). */
export const EDGE_CONSTRAINTS: Readonly<Record<string, EdgeConstraint>> = {
  "edge.port": intIn(0, 65535),
  ...tlsListenerConstraints("edge.tls"),
  ...accessLogConstraints("edge.accessLog"),
  "edge.httpServer": oneOf("http1", "deno"),
  "edge.origins": nonEmptyList,
  "edge.origins[].url": httpUrl,
  "edge.origins[].weight": intIn(1, 1000),
  "edge.cache.memoryMaxBytes": intIn(1024 * 1024, 1024 * GIB),
  "edge.cache.maxObjectBytes": intIn(1024, 16 * GIB),
  "edge.cache.diskMaxBytes": intIn(0, 1024 * 1024 * GIB),
  "edge.cache.segmentTtlSeconds": intIn(1, 365 * 86_400),
  "edge.cache.defaultTargetDurationSeconds": numIn(0.1, 60),
  "edge.cache.collapseWaitMs": intIn(10, 600_000),
  "edge.upstream.timeoutMs": intIn(100, 600_000),
  "edge.upstream.healthCheck.intervalMs": intIn(100, 600_000),
  "edge.upstream.healthCheck.timeoutMs": intIn(50, 600_000),
  "edge.upstream.healthCheck.rise": intIn(1, 100),
  "edge.upstream.healthCheck.fall": intIn(1, 100),
  "edge.upstream.slowStartMs": intIn(0, 3_600_000),
  "edge.live.flushIntervalMs": intIn(0, 1000),
  "edge.live.maxViewerQueueBytes": intIn(64 * 1024, GIB),
  "edge.live.maxGopCacheBytes": intIn(0, GIB),
  "edge.live.idleCloseMs": intIn(0, 600_000),
  "edge.live.reconnectWindowMs": intIn(0, 600_000),
  "edge.registry.id": optional((v) =>
    typeof v === "string" && EDGE_ID_RE.test(v)
      ? undefined
      : "an id of 1-64 [A-Za-z0-9_.-] (or empty)"
  ),
  "edge.registry.latitude": numIn(-90, 90),
  "edge.registry.longitude": numIn(-180, 180),
  "edge.registry.publicAddress": optional((v) =>
    typeof v === "string" && IPV4_RE.test(v)
      ? undefined
      : "an IPv4 address (or empty)"
  ),
  "edge.registry.publicAddress6": optional((v) =>
    typeof v === "string" && v.includes(":") && !/[^0-9A-Fa-f:.]/.test(v)
      ? undefined
      : "an IPv6 address (or empty)"
  ),
  "edge.registry.baseUrl": optional(httpUrl),
  "edge.registry.capacityBps": numIn(0, 1e15),
  "edge.registry.capacityViewers": intIn(0, 100_000_000),
  "edge.registry.heartbeatSeconds": numIn(0.1, 3600),
  "edge.purgePollIntervalMs": intIn(10, 60_000),
};
