/**
 * Meridian's config: its shape, every default, and the constraints of each key. The role
 * sections live in their own files (`origin_schema.ts`, `edge_schema.ts`,
 * `scheduler_schema.ts`), composed here.
 *
 * The defaults are the schema: a key that is not in {@link DEFAULTS} is unknown, and a value of
 * another type than its default is wrong. {@link CONSTRAINTS} adds ranges and enumerations.
 * Each role receives only its own section.
 *
 * @module
 */

import { parseCidr } from "../geo/ip.ts";
import { storeUrlProblem } from "../store/url.ts";
import { passwordHashProblem } from "../access/password.ts";
import {
  ACCESS_LOG_DEFAULTS,
  type AccessLogConfig,
  accessLogConstraints,
} from "./access_log_schema.ts";
import { type Constraint, intIn, oneOf } from "./constraints.ts";
import {
  EDGE_CONSTRAINTS,
  EDGE_DEFAULTS,
  type EdgeConfig,
} from "./edge_schema.ts";
import {
  ORIGIN_CONSTRAINTS,
  ORIGIN_DEFAULTS,
  type OriginConfig,
} from "./origin_schema.ts";
import { TRANSCODE_LIST_ITEMS } from "./transcode_schema.ts";
import {
  TLS_CONSTRAINTS,
  TLS_DEFAULTS,
  type TlsConfig,
  type TlsListenerConfig,
  tlsListenerConstraints,
  tlsListenerDefaults,
  tlsListenerItems,
} from "./tls_schema.ts";
import {
  SCHEDULER_CONSTRAINTS,
  SCHEDULER_DEFAULTS,
  type SchedulerConfig,
} from "./scheduler_schema.ts";

export interface LogConfig {
  /** debug | info | warn | error. */
  readonly level: "debug" | "info" | "warn" | "error";
  /** json | pretty | auto (pretty on a TTY). */
  readonly format: "json" | "pretty" | "auto";
}

/** Where state shared between nodes lives (tokens, revocations, the change feed). */
export interface StoreConfig {
  /**
   * The backend: `kv:PATH` (Deno KV file), `kv:https://…` (KV Connect; access token from
   * `DENO_KV_ACCESS_TOKEN`), `redis://[[user]:password@]host[:port][/db]`, `rediss://…` (TLS)
   * or `redis+sentinel://[:password@]host[:port][,host[:port]…]/MASTER[/db]`. Empty: `path`,
   * or `kv:${dataDir}/meridian.kv`. Wins over `path` when both are set.
   */
  readonly url: string;
  /**
   * The older key, kept as an alias: a Deno KV file path or a KV Connect URL. Used only when
   * `url` is empty. Empty: `${dataDir}/meridian.kv`.
   */
  readonly path: string;
}

/** The control role: web console, admin API and token service (`/gettoken`). */
export interface ControlConfig {
  readonly hostname: string;
  readonly port: number;
  /** HTTPS beside the HTTP port (console, admin API, tokens), on once it has a certificate. */
  readonly tls: TlsListenerConfig;
  /**
   * The `token` of `/gettoken`. Empty: generated at first start, kept in `${dataDir}`, printed
   * once. When set: at least 12 characters.
   */
  readonly servicePassword: string;
  /**
   * The admin API's bearer token. Empty: generated at first start, kept in `${dataDir}`, printed
   * once, never logged. When set: at least 16 characters.
   */
  readonly adminToken: string;
  /** Lifetime of a token minted without `duration`. */
  readonly defaultTokenDurationSeconds: number;
  /** Uses of a token minted without `limit`; 0 means unlimited (only the duration bounds it). */
  readonly defaultTokenUses: number;
  /**
   * Named console accounts besides the admin token: `viewer` sees everything and changes
   * nothing, `admin` may do anything the admin token does. Passwords are kept only as hashes
   * (`deno task hash-password`). @default []
   */
  readonly operators: readonly {
    readonly name: string;
    readonly passwordHash: string;
    readonly role: "viewer" | "admin";
  }[];
  /** A console sign-in lasts this long (seconds). */
  readonly sessionSeconds: number;
  /**
   * Mark the console's session cookie `Secure` always (behind a TLS-terminating proxy); a
   * request that arrives over https gets it anyway.
   */
  readonly secureCookies: boolean;
  /** Per-client-IP lockout after wrong service passwords or admin tokens. */
  readonly lockout: {
    /** Wrong attempts within `windowSeconds` that lock the client out. */
    readonly maxFailures: number;
    readonly windowSeconds: number;
    /** How long a locked-out client gets 429. */
    readonly lockSeconds: number;
  };
  /** One line per console, admin API and token request (`log/access/`). */
  readonly accessLog: AccessLogConfig;
}

/** Access control on media URLs (`?token=`), enforced by origin and edge. */
export interface AuthConfig {
  /**
   * Require a token on the play URLs of every app, whatever its `origin.apps[].access` (the
   * switch that predates per-app access). Off by default so the demo channel plays at once.
   */
  readonly enabled: boolean;
  /**
   * Key of the HMAC session credentials handed out after a token use. Empty: generated once and
   * kept in the shared store, so every node sharing the store agrees. When set: at least 32
   * characters.
   */
  readonly sessionSecret: string;
  /** Longest playback session one token use buys (never past the token's own expiry). */
  readonly sessionSeconds: number;
}

/** Limits on one kind of TCP listener (see net/conn_guard.ts for the eviction order). */
export interface ListenerLimitsConfig {
  /** Connections open at once on one listener; at the cap, pending then idle ones are evicted. */
  readonly maxConnections: number;
  /** Connections one client address may hold (trusted networks exempt); 0 = no cap. */
  readonly maxConnectionsPerAddress: number;
}

/**
 * Connection limits of every listener in the process, and the networks they trust (the
 * cluster's own edges and origins: exempt from the per-address caps).
 */
export interface LimitsConfig {
  /** CIDRs exempt from per-address caps. Loopback by default: the one-box cluster. */
  readonly trustedNetworks: readonly string[];
  /** HTTP listeners (edge, origin, control, scheduler HTTP). */
  readonly http: ListenerLimitsConfig & {
    /**
     * A request's head and body must arrive whole within this many ms of its start (the
     * accept, or its first byte on a keep-alive connection); not restarted by reads.
     */
    readonly headTimeoutMs: number;
    /** A keep-alive connection with nothing of a next request is closed after this many ms. */
    readonly idleTimeoutMs: number;
  };
  /** The origin's RTMP listener. */
  readonly rtmp: ListenerLimitsConfig;
  /** The origin's RTSP listener (TCP). */
  readonly rtsp: ListenerLimitsConfig;
  /** The origin's SRT listener (connections accepted by libsrt). */
  readonly srt: ListenerLimitsConfig;
}

/** What `/metrics` shows of the process and every role. */
export interface MetricsConfig {
  /**
   * Distinct values a label of this name may take in one family; past it, new values count
   * as `other` (and `meridian_metrics_label_overflow_total{family}` says so). Streams, apps,
   * edges and origins are named by publishers and registries, not by us.
   */
  readonly labelLimits: {
    readonly stream: number;
    readonly app: number;
    readonly edge: number;
    readonly origin: number;
  };
}

/** Process memory settings. */
export interface MemoryConfig {
  /** Give freed heap memory back to the OS this often (glibc `malloc_trim`); 0 = never. */
  readonly trimIntervalSeconds: number;
}

export interface MeridianConfig {
  /** Data directory (KV file, DVR, recordings). */
  readonly dataDir: string;
  readonly log: LogConfig;
  readonly memory: MemoryConfig;
  readonly metrics: MetricsConfig;
  readonly limits: LimitsConfig;
  /** TLS of every listener: handshake deadline, certificate reload, upstream CAs. */
  readonly tls: TlsConfig;
  readonly origin: OriginConfig;
  readonly store: StoreConfig;
  readonly control: ControlConfig;
  readonly auth: AuthConfig;
  readonly edge: EdgeConfig;
  readonly scheduler: SchedulerConfig;
}

/** Every default; `deno task start` with no config file runs exactly this. */
export const DEFAULTS: MeridianConfig = {
  dataDir: "./data",
  log: { level: "info", format: "auto" },
  memory: { trimIntervalSeconds: 5 },
  // 100 streams x a few protocols and families stays near a thousand series a role: what a
  // Prometheus scraping every 15 s keeps for years. Beyond, the biggest show and the rest
  // are summed as `other`.
  metrics: { labelLimits: { stream: 100, app: 32, edge: 200, origin: 64 } },
  limits: {
    trustedNetworks: ["127.0.0.0/8", "::1/128"],
    // 256 per address: a NAT'd office or CGNAT pool holds many players (browsers open up to 6
    // connections per host each), while one host still gets under 2 % of a listener.
    http: {
      maxConnections: 16_384,
      maxConnectionsPerAddress: 256,
      // 10 s for a head of a few hundred bytes: many round trips even on a lossy mobile link,
      // a sixth of the time nginx's client_header_timeout (60 s) lets a slow client hold a slot.
      headTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
    },
    // An encoder host may push dozens of channels; players behind NAT share an address too.
    rtmp: { maxConnections: 10_000, maxConnectionsPerAddress: 64 },
    // As RTMP: an NVR plays dozens of cameras from one address, an encoder host pushes many.
    rtsp: { maxConnections: 10_000, maxConnectionsPerAddress: 64 },
    srt: { maxConnections: 1000, maxConnectionsPerAddress: 64 },
  },
  tls: TLS_DEFAULTS,
  origin: ORIGIN_DEFAULTS,
  store: { url: "", path: "" },
  control: {
    hostname: "127.0.0.1",
    port: 8088,
    tls: tlsListenerDefaults(8488),
    servicePassword: "",
    adminToken: "",
    defaultTokenDurationSeconds: 3600,
    defaultTokenUses: 0,
    operators: [],
    // 8 h: a working day, after which the console asks again.
    sessionSeconds: 8 * 3600,
    secureCookies: false,
    lockout: { maxFailures: 5, windowSeconds: 60, lockSeconds: 300 },
    accessLog: ACCESS_LOG_DEFAULTS,
  },
  auth: { enabled: false, sessionSecret: "", sessionSeconds: 6 * 3600 },
  edge: EDGE_DEFAULTS,
  scheduler: SCHEDULER_DEFAULTS,
};

/** A constraint beyond "same type as the default". Returns the expectation text when violated. */
export type { Constraint } from "./constraints.ts";

const cidr: Constraint = (v) => {
  try {
    parseCidr(v as string);
    return undefined;
  } catch {
    return "an IPv4 or IPv6 network like 192.0.2.0/24";
  }
};

/** Schema of one item of a list whose default is empty (so has no item to copy). */
export interface ListItemSchema {
  /** Item shape and defaults, as in {@link DEFAULTS}; a string for a list of strings. */
  readonly template: unknown;
  /** Keys an item must give; the other keys take the template's value. */
  readonly required?: readonly string[];
  /** Keys that stay absent when not given (they inherit from elsewhere, e.g. the app). */
  readonly optional?: readonly string[];
}

/**
 * Item schemas of lists, by dotted list key + `[]`. A list of maps not listed here takes its
 * default's first item as template, every key required.
 */
export const LIST_ITEMS: Readonly<Record<string, ListItemSchema>> = {
  ...tlsListenerItems("edge.tls"),
  ...tlsListenerItems("origin.tls"),
  ...tlsListenerItems("origin.rtmps"),
  ...tlsListenerItems("scheduler.tls"),
  ...tlsListenerItems("control.tls"),
  "origin.apps[]": {
    template: {
      name: "",
      access: "open",
      publishKeys: [],
      streams: [],
      // An app listed without `dvr` has none; one that enables it keeps two hours.
      dvr: { enabled: false, windowSeconds: 7200, maxBytes: 0 },
      record: { enabled: false, formats: ["mp4"] },
    },
    required: ["name"],
  },
  "origin.apps[].publishKeys[]": { template: "" },
  "origin.apps[].record.formats[]": { template: "" },
  "origin.apps[].streams[]": {
    // A stream's `dvr`/`record` replace its app's when given (given maps enable by default).
    template: {
      name: "",
      publishKeys: [],
      dvr: { enabled: true, windowSeconds: 7200 },
      record: { enabled: true, formats: ["mp4"] },
    },
    required: ["name"],
    optional: ["dvr", "record"],
  },
  "origin.apps[].streams[].publishKeys[]": { template: "" },
  "origin.apps[].streams[].record.formats[]": { template: "" },
  "origin.defaultApp.publishKeys[]": { template: "" },
  "origin.defaultApp.record.formats[]": { template: "" },
  "origin.dvr.schedule[]": {
    template: { app: "", stream: "", title: "", start: "", end: "" },
    required: ["app", "stream", "title", "start", "end"],
  },
  // A channel names its stream; `file` or `playlist` is checked on the whole item (in
  // origin_schema.ts). The demo channel's optional keys are the defaults of every channel's.
  "origin.virtualLive[]": {
    template: {
      ...ORIGIN_DEFAULTS.virtualLive[0]!,
      app: "",
      stream: "",
      file: "",
    },
    required: ["app", "stream"],
  },
  "origin.virtualLive[].playlist[]": { template: "" },
  "origin.virtualLive[].schedule[]": {
    template: { at: "", file: "" },
    required: ["at", "file"],
  },
  "origin.relay.upstreams[]": {
    template: { url: "", apiUrl: "", apps: [] },
    required: ["url"],
  },
  "origin.relay.upstreams[].apps[]": { template: "" },
  "origin.relay.forward[]": {
    template: { url: "", streamKey: "", apps: [], streams: [] },
    required: ["url"],
  },
  "origin.relay.forward[].apps[]": { template: "" },
  "origin.relay.forward[].streams[]": { template: "" },
  // Optional keys take the default item's values; the templates are derived from the defaults.
  "edge.origins[]": {
    template: { ...EDGE_DEFAULTS.origins[0]!, url: "", region: "" },
    required: ["url"],
  },
  // Where an edge is matters to every answer: its place is never defaulted.
  "scheduler.edges[]": {
    template: {
      ...SCHEDULER_DEFAULTS.edges[0]!,
      id: "",
      address: "",
      region: "",
    },
    required: ["id", "address", "latitude", "longitude"],
  },
  "scheduler.zones[].records[]": {
    template: {
      ...SCHEDULER_DEFAULTS.zones[0]!.records[0]!,
      name: "",
      type: "A",
      value: "",
    },
    required: ["name", "value"],
  },
  // A pulled camera names its stream and URL; it is pulled over TCP unless told otherwise.
  "origin.rtsp.sources[]": {
    template: { name: "", url: "", transport: "tcp", user: "", password: "" },
    required: ["name", "url"],
  },
  "control.operators[]": {
    template: { name: "", passwordHash: "", role: "viewer" },
    required: ["name", "passwordHash"],
  },
  "scheduler.zones[].steered[]": {
    template: { ...SCHEDULER_DEFAULTS.zones[0]!.steered[0]!, name: "" },
    required: ["name"],
  },
  ...TRANSCODE_LIST_ITEMS,
};

/** Constraints by dotted key (array items use `[]`). */
export const CONSTRAINTS: Readonly<Record<string, Constraint>> = {
  "log.level": oneOf("debug", "info", "warn", "error"),
  "log.format": oneOf("json", "pretty", "auto"),
  "memory.trimIntervalSeconds": intIn(0, 3600),
  "metrics.labelLimits.stream": intIn(1, 10_000),
  "metrics.labelLimits.app": intIn(1, 10_000),
  "metrics.labelLimits.edge": intIn(1, 10_000),
  "metrics.labelLimits.origin": intIn(1, 10_000),
  ...accessLogConstraints("control.accessLog"),
  "limits.trustedNetworks[]": cidr,
  "limits.http.maxConnections": intIn(1, 1_000_000),
  "limits.http.maxConnectionsPerAddress": intIn(0, 1_000_000),
  "limits.http.headTimeoutMs": intIn(100, 600_000),
  "limits.http.idleTimeoutMs": intIn(100, 3_600_000),
  "limits.rtmp.maxConnections": intIn(1, 1_000_000),
  "limits.rtmp.maxConnectionsPerAddress": intIn(0, 1_000_000),
  "limits.rtsp.maxConnections": intIn(1, 1_000_000),
  "limits.rtsp.maxConnectionsPerAddress": intIn(0, 1_000_000),
  "limits.srt.maxConnections": intIn(1, 100_000),
  "limits.srt.maxConnectionsPerAddress": intIn(0, 100_000),
  // Parsed fully here (scheme, host, port, db), so a bad URL stops start-up naming the key.
  "store.url": storeUrlProblem,
  "control.port": intIn(0, 65535),
  ...tlsListenerConstraints("control.tls"),
  ...TLS_CONSTRAINTS,
  // Ten years, the same bound `/gettoken?duration=` has.
  "control.defaultTokenDurationSeconds": intIn(1, 315_360_000),
  "control.defaultTokenUses": intIn(0, 1_000_000_000),
  "control.operators": (v) => {
    const names = (v as readonly { name: string }[]).map((x) => x.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    return dup === undefined ? undefined : `unique names (${dup} repeats)`;
  },
  "control.operators[].name": (v) =>
    typeof v === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(v)
      ? undefined
      : "a name of 1..64 characters of [A-Za-z0-9_.-]",
  "control.operators[].passwordHash": (v) =>
    typeof v === "string" ? passwordHashProblem(v) : "a string",
  "control.operators[].role": oneOf("viewer", "admin"),
  "control.sessionSeconds": intIn(60, 7 * 86_400),
  "control.lockout.maxFailures": intIn(1, 1000),
  "control.lockout.windowSeconds": intIn(1, 86_400),
  "control.lockout.lockSeconds": intIn(1, 604_800),
  "auth.sessionSeconds": intIn(1, 604_800),
  // Secret lengths are checked where the secrets are used, so a rejected value is never echoed.
  ...ORIGIN_CONSTRAINTS,
  ...EDGE_CONSTRAINTS,
  ...SCHEDULER_CONSTRAINTS,
};
