/**
 * The scheduler role's config section (`scheduler:`): its shape, every default and the
 * constraints of each key. Merged into {@link DEFAULTS}/{@link CONSTRAINTS} by `schema.ts`.
 *
 * Lists of maps (`edges`, `zones`) follow the loader's rule: every key of the default item is
 * required in each item. Inside a zone, `records`, `steered` and each steered name's `filters`
 * are validated by the scheduler at start-up (`scheduler/zone.ts`, `scheduler/policy/`), with
 * errors naming the key.
 *
 * @module
 */

import {
  ACCESS_LOG_DEFAULTS,
  type SchedulerAccessLogConfig,
  schedulerAccessLogConstraints,
} from "./access_log_schema.ts";
import { type Constraint, intIn, numIn, oneOf } from "./constraints.ts";
import {
  type TlsListenerConfig,
  tlsListenerConstraints,
  tlsListenerDefaults,
} from "./tls_schema.ts";

/** One edge the scheduler may answer with (until the shared store's registry replaces it). */
export interface SchedulerEdgeConfig {
  /** Unique id, e.g. `fra1`. */
  readonly id: string;
  /** IPv4 address answered in A records (may be empty when `address6` is set). */
  readonly address: string;
  /** IPv6 address answered in AAAA records; empty: none. */
  readonly address6: string;
  /** Region name that network overrides refer to, e.g. `eu-central`. */
  readonly region: string;
  readonly latitude: number;
  readonly longitude: number;
  /** Relative capacity (e.g. Gbit/s or viewers); weights the share of answers. */
  readonly capacity: number;
  /** Health check URL (http) or `host:port` (tcp). Empty: derived from `health.port`/`health.path`. */
  readonly healthUrl: string;
  /**
   * Carriers the edge is on, by name of `scheduler.isps` (several for a multi-homed site, e.g.
   * `[telecom, unicom]`); `isp_match` prefers it for those carriers' clients. An unknown name
   * stops start-up naming the key. Empty (and `asns` empty): the AS its address is in.
   */
  readonly isp: readonly string[];
  /** AS numbers the edge is on, beside those of its `isp` names. */
  readonly asns: readonly number[];
}

/** A carrier (运营商) by name: the AS numbers its clients' networks are in. */
export interface SchedulerIspConfig {
  /** Name edges refer to in `isp`, e.g. `telecom`; `[a-z0-9_-]{1,32}`. */
  readonly name: string;
  /** Its AS numbers (1..4294967295); a client in any of them is this carrier's. */
  readonly asns: readonly number[];
}

/** A static record. `name` is relative to the zone (`@` the apex) or absolute (ending in `.`). */
export interface SchedulerRecordConfig {
  readonly name: string;
  /**
   * A, AAAA, CNAME, TXT, CAA, MX or NS. NS below the apex delegates that name: it and every
   * name below get a referral, and only glue (A, AAAA) may sit below it.
   */
  readonly type: string;
  readonly ttl: number;
  /** Presentation format: `192.0.2.1`, `target.`, `"text"`, `0 issue "ca.example"`, `10 mx.example.`. */
  readonly value: string;
}

/** A steered name: answered by the policy chain from the healthy edges. */
export interface SchedulerSteeredConfig {
  /** Relative or absolute; `*.cdn` is a wildcard. */
  readonly name: string;
  readonly ttlSeconds: number;
  /** TTL while failed over (fewer healthy edges than wanted, or the last resort answered). */
  readonly failoverTtlSeconds: number;
  /** The filter chain (see `scheduler/policy/README.md`); empty: the default chain. */
  readonly filters: readonly Readonly<Record<string, unknown>>[];
}

/** SOA fields (RFC 1035 §3.3.13). `minimum` is also the negative-caching TTL (RFC 2308 §4). */
export interface SchedulerSoaConfig {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
  readonly ttl: number;
}

/** One zone we are authoritative for. */
export interface SchedulerZoneConfig {
  /** The apex, e.g. `meridian.test.`. */
  readonly name: string;
  readonly soa: SchedulerSoaConfig;
  /** Name servers at the apex. */
  readonly ns: readonly string[];
  readonly records: readonly SchedulerRecordConfig[];
  readonly steered: readonly SchedulerSteeredConfig[];
}

export interface SchedulerConfig {
  /** Address the DNS (UDP+TCP) and HTTP listeners bind to. */
  readonly hostname: string;
  readonly dnsPort: number;
  readonly httpPort: number;
  /**
   * HTTPS beside the HTTP port (302 scheduler, dashboard, API), on once it has a certificate
   * (`net/tls/`): a viewer on an HTTPS page follows an `https://` redirect only.
   */
  readonly tls: TlsListenerConfig;
  readonly dns: {
    /** Largest UDP response we send, whatever the client offers (RFC 6891 §6.2.5; DNS flag day 2020). */
    readonly maxUdpPayloadBytes: number;
    /** A TCP connection with no message in progress is closed after this long (RFC 7766 §6.2.3). */
    readonly tcpIdleTimeoutMs: number;
    /**
     * A TCP message must arrive whole within this many ms of its first byte (the first one of
     * the connection's opening), and each reply be written within it; bytes trickling in do
     * not extend it.
     */
    readonly tcpMessageTimeoutMs: number;
    /** TCP connections open at once; when full, the oldest pending, else idle one is evicted. */
    readonly maxTcpConnections: number;
    /**
     * TCP connections one client network (/24, /56) may hold; 0 = no cap. The process-wide
     * `limits.trustedNetworks` are exempt.
     */
    readonly maxTcpConnectionsPerNetwork: number;
    /** Longest ECS scope we claim (privacy and cache size; RFC 7871 §11.1). */
    readonly ecsMaxScopeV4: number;
    readonly ecsMaxScopeV6: number;
    /** Precomputed responses kept. */
    readonly answerCacheEntries: number;
    /** Made-up queries answered before the DNS port opens, to start with compiled code. */
    readonly warmupQueries: number;
    /**
     * Threads answering DNS. With more than 1, the scheduler starts `workers - 1` Deno Workers;
     * each binds the same UDP port (libc socket with `SO_REUSEPORT`) and TCP port
     * (`reusePort`), and answers from edge/health snapshots the main thread sends (Linux only).
     */
    readonly workers: number;
    /**
     * UDP listener: `libc` a socket of our own through FFI that moves datagrams in batches
     * (`recvmmsg`/`sendmmsg`; Linux, needs `--allow-ffi`), `deno` `Deno.listenDatagram`, `auto`
     * libc when available (Linux, FFI allowed, an IP address as `hostname`), else deno.
     * `workers` > 1 always uses libc (the only way to share the port). `thread`: the libc socket
     * served by `workers` Deno Workers (none by the main thread), each blocking its own thread
     * in `recvmmsg`: the least CPU per query at everyday rates (no FFI thread-pool hop and no
     * event-loop wake-up per datagram), for one more thread's memory (see BENCHMARKS.md).
     * Linux only.
     */
    readonly udpSocket: "auto" | "libc" | "deno" | "thread";
    /** CHAOS TXT answers; empty: REFUSED. */
    readonly chaos: { readonly version: string; readonly id: string };
    /**
     * Response rate limiting per client network and response class (like BIND RRL: an answer
     * per name and type, wildcard-covered names as the wildcard, NXDOMAIN per zone, errors per
     * network; `server/rate_limit.ts`), UDP only.
     */
    readonly rateLimit: {
      /** Responses per second per network and class; 0 turns RRL off. */
      readonly responsesPerSecond: number;
      /** Burst allowance in seconds of rate. */
      readonly windowSeconds: number;
      /** Every `slip`-th limited response is sent truncated (TC) instead of dropped; 0 drops all. */
      readonly slip: number;
      readonly ipv4PrefixLength: number;
      readonly ipv6PrefixLength: number;
      /** Networks never limited (loopback cannot be a spoofed victim). */
      readonly exempt: readonly string[];
      /** Buckets kept (network and class pairs); the oldest goes first. */
      readonly maxEntries: number;
    };
  };
  readonly geo: {
    /** MMDB for IPv4 (or both). Empty: DB-IP city lite from node_modules. */
    readonly ipv4Path: string;
    readonly ipv6Path: string;
    /** Replaced files are picked up within this many seconds; 0 never. */
    readonly reloadCheckSeconds: number;
    /**
     * "mmap": the files are mapped (resident only where lookups touch, one copy for all DNS
     * worker threads; replace them by rename, never in place); "read": copied into memory.
     */
    readonly load: "mmap" | "read";
  };
  /**
   * The IP-to-ASN database `isp_match` reads (CSV rows `start,end,asn,organisation`, as npm
   * `@ip-location-db/asn` ships them). Opened only when a steered name uses `isp_match`.
   */
  readonly asn: {
    /** CSV for IPv4 (or both families). Empty: `asn-ipv4-num.csv` of the npm package. */
    readonly ipv4Path: string;
    /** CSV for IPv6. Empty: `asn-ipv6-num.csv` of the npm package (when `ipv4Path` is empty). */
    readonly ipv6Path: string;
    /** Replaced files are picked up within this many seconds; 0 never. */
    readonly reloadCheckSeconds: number;
  };
  /**
   * Carriers by name and their AS numbers (edges' `isp` refers to them). Giving the list
   * replaces the default (China's four national networks), so list every carrier you use.
   */
  readonly isps: readonly SchedulerIspConfig[];
  readonly health: {
    /** http: GET must answer 2xx; tcp: a connection must open. */
    readonly kind: "http" | "tcp";
    readonly port: number;
    readonly path: string;
    readonly intervalMs: number;
    readonly timeoutMs: number;
    /** Consecutive successes that bring a down edge back. */
    readonly rise: number;
    /** Consecutive failures that take an up edge out. */
    readonly fall: number;
  };
  /** Where the HTTP 302 scheduler sends viewers: `{scheme}://{edge address}:{port}{path}`. */
  readonly redirect: {
    readonly scheme: "http" | "https";
    readonly port: number;
  };
  readonly edges: readonly SchedulerEdgeConfig[];
  readonly zones: readonly SchedulerZoneConfig[];
  /**
   * Bearer token of the scheduler's admin endpoints (`POST`/`DELETE /api/edges/{id}/drain`);
   * "" disables them (403).
   */
  readonly adminToken: string;
  /** Where the edge list comes from. */
  readonly registry: {
    /**
     * `config`: the `edges` list; `store`: the shared store's edge registry (edges register
     * themselves); `auto`: the registry when the process has a store, else the list.
     */
    readonly source: "auto" | "config" | "store";
    /** How often (ms) the registry is re-read (drains and joins also arrive through the feed). */
    readonly refreshMs: number;
  };
  /** One line per HTTP request and per sampled DNS query (`log/access/`). */
  readonly accessLog: SchedulerAccessLogConfig;
}

/** The scheduler's defaults: `meridian.test.` steering `live` to the local edge. */
export const SCHEDULER_DEFAULTS: SchedulerConfig = {
  hostname: "127.0.0.1",
  dnsPort: 5353,
  httpPort: 8070,
  tls: tlsListenerDefaults(8473),
  dns: {
    maxUdpPayloadBytes: 1232,
    tcpIdleTimeoutMs: 10_000,
    // 4x Knot DNS's tcp-io-timeout (500 ms): a query is one segment, and 2 s still covers its
    // loss and retransmission (RFC 6298 initial RTO 1 s), while a host trickling bytes holds a
    // slot 2 s per message instead of forever.
    tcpMessageTimeoutMs: 2_000,
    maxTcpConnections: 256,
    // Resolvers come over TCP for truncated answers and slips and close after the answer: 32
    // at once from one /24 is hundreds of retries a second, and one /24 holds at most an eighth
    // of the listener (filling it takes eight, and then the oldest waiting one is evicted).
    maxTcpConnectionsPerNetwork: 32,
    ecsMaxScopeV4: 24,
    ecsMaxScopeV6: 56,
    answerCacheEntries: 100_000,
    warmupQueries: 5_000,
    workers: 1,
    udpSocket: "auto",
    chaos: { version: "Meridian", id: "" },
    rateLimit: {
      responsesPerSecond: 200,
      windowSeconds: 5,
      slip: 2,
      ipv4PrefixLength: 24,
      ipv6PrefixLength: 56,
      exempt: ["127.0.0.0/8", "::1/128"],
      maxEntries: 100_000,
    },
  },
  geo: { ipv4Path: "", ipv6Path: "", reloadCheckSeconds: 60, load: "mmap" },
  asn: { ipv4Path: "", ipv6Path: "", reloadCheckSeconds: 60 },
  // China's national carriers, whose networks peer poorly with each other (checked against the
  // shipped data in tests/scheduler/networks_test.ts): 电信 China Telecom (ChinaNet backbone,
  // its group network, CN2), 联通 China Unicom (China169, the Industrial Internet backbone,
  // its Beijing network), 移动 China Mobile (CMNET, its communications corporation's
  // networks), 教育网 CERNET.
  isps: [
    { name: "telecom", asns: [4134, 4812, 4809] },
    { name: "unicom", asns: [4837, 9929, 4808] },
    { name: "mobile", asns: [9808, 56040, 24400, 56041] },
    { name: "cernet", asns: [4538] },
  ],
  health: {
    kind: "http",
    port: 8080,
    path: "/healthz",
    intervalMs: 2000,
    timeoutMs: 1000,
    rise: 2,
    fall: 2,
  },
  redirect: { scheme: "http", port: 8080 },
  edges: [{
    id: "local",
    address: "127.0.0.1",
    address6: "",
    region: "local",
    latitude: 0,
    longitude: 0,
    capacity: 100,
    healthUrl: "",
    isp: [],
    asns: [],
  }],
  zones: [{
    name: "meridian.test.",
    soa: {
      mname: "ns1.meridian.test.",
      rname: "hostmaster.meridian.test.",
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 604_800,
      minimum: 60,
      ttl: 3600,
    },
    ns: ["ns1.meridian.test."],
    records: [{ name: "ns1", type: "A", ttl: 3600, value: "127.0.0.1" }],
    steered: [{
      name: "live",
      ttlSeconds: 30,
      failoverTtlSeconds: 10,
      filters: [],
    }],
  }],
  adminToken: "",
  registry: { source: "auto", refreshMs: 1000 },
  accessLog: { ...ACCESS_LOG_DEFAULTS, dnsSampleRate: 0.01 },
};

const EDGE_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const ISP_NAME_RE = /^[a-z0-9_-]{1,32}$/;
/** Most AS numbers one carrier lists. */
export const MAX_ISP_ASNS = 1024;

/** Constraints by dotted key (array items use `[]`). */
export const SCHEDULER_CONSTRAINTS: Readonly<Record<string, Constraint>> = {
  "scheduler.dnsPort": intIn(0, 65535),
  ...schedulerAccessLogConstraints("scheduler.accessLog"),
  "scheduler.httpPort": intIn(0, 65535),
  ...tlsListenerConstraints("scheduler.tls"),
  // RFC 6891 §6.2.5: below 512 is treated as 512; 4096 is the usual upper bound.
  "scheduler.dns.maxUdpPayloadBytes": intIn(512, 4096),
  "scheduler.dns.tcpIdleTimeoutMs": intIn(100, 600_000),
  "scheduler.dns.tcpMessageTimeoutMs": intIn(100, 600_000),
  "scheduler.dns.maxTcpConnections": intIn(1, 100_000),
  "scheduler.dns.maxTcpConnectionsPerNetwork": intIn(0, 100_000),
  "scheduler.dns.ecsMaxScopeV4": intIn(0, 32),
  "scheduler.dns.ecsMaxScopeV6": intIn(0, 128),
  "scheduler.dns.answerCacheEntries": intIn(16, 10_000_000),
  "scheduler.dns.warmupQueries": intIn(0, 1_000_000),
  "scheduler.dns.workers": intIn(1, 64),
  "scheduler.dns.udpSocket": oneOf("auto", "libc", "deno", "thread"),
  "scheduler.dns.rateLimit.responsesPerSecond": intIn(0, 1_000_000),
  "scheduler.dns.rateLimit.windowSeconds": intIn(1, 3600),
  "scheduler.dns.rateLimit.slip": intIn(0, 10),
  "scheduler.dns.rateLimit.ipv4PrefixLength": intIn(8, 32),
  "scheduler.dns.rateLimit.ipv6PrefixLength": intIn(16, 128),
  "scheduler.dns.rateLimit.maxEntries": intIn(16, 10_000_000),
  "scheduler.geo.reloadCheckSeconds": intIn(0, 86_400),
  "scheduler.geo.load": oneOf("mmap", "read"),
  "scheduler.health.kind": oneOf("http", "tcp"),
  "scheduler.health.port": intIn(1, 65535),
  "scheduler.health.intervalMs": intIn(50, 3_600_000),
  "scheduler.health.timeoutMs": intIn(10, 600_000),
  "scheduler.health.rise": intIn(1, 100),
  "scheduler.health.fall": intIn(1, 100),
  "scheduler.redirect.scheme": oneOf("http", "https"),
  "scheduler.redirect.port": intIn(1, 65535),
  "scheduler.edges[].id": (v) =>
    typeof v === "string" && EDGE_ID_RE.test(v)
      ? undefined
      : "an id of 1-64 [A-Za-z0-9_.-]",
  "scheduler.edges[].latitude": numIn(-90, 90),
  "scheduler.edges[].longitude": numIn(-180, 180),
  "scheduler.edges[].capacity": numIn(0, 1e12),
  "scheduler.asn.reloadCheckSeconds": intIn(0, 86_400),
  "scheduler.isps": (v) => {
    const names = (v as readonly SchedulerIspConfig[]).map((i) => i.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    return dup === undefined ? undefined : `unique names (${dup} repeats)`;
  },
  "scheduler.isps[].name": (v) =>
    typeof v === "string" && ISP_NAME_RE.test(v)
      ? undefined
      : "a name of 1-32 [a-z0-9_-]",
  "scheduler.isps[].asns": (v) =>
    Array.isArray(v) && v.length >= 1 && v.length <= MAX_ISP_ASNS &&
      v.every((a) => Number.isInteger(a) && a >= 1 && a <= 4_294_967_295)
      ? undefined
      : `a list of 1..${MAX_ISP_ASNS} AS numbers 1..4294967295`,
  "scheduler.registry.source": oneOf("auto", "config", "store"),
  "scheduler.registry.refreshMs": intIn(50, 600_000),
  // Addresses, zone names and records are parsed by the scheduler at start-up (they need the
  // IP and DNS-name parsers), with the same ConfigError naming the key.
};
