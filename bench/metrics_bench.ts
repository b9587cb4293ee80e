/**
 * What the metrics and the access log cost on the hot paths, in-process.
 *
 * `deno bench -A bench/metrics_bench.ts`
 *
 * - the registry's primitives: a counter child's `inc`, a histogram child's `observe`, a
 *   child lookup by label values, the older object form (`inc({...})`), the clock read every
 *   timed request pays (`performance.now()`);
 * - the edge's observer of one request (exchange → cache result → counters and histograms),
 *   with and without an access log line (formatted and queued; the file write is off-thread);
 * - an edge hit over a real loopback socket (Meridian's HTTP/1.1 server, the prebuilt-bytes
 *   fast path, 64 pipelined GETs of a 358-byte playlist per iteration) without an observer
 *   (before this change), with the edge's metrics as it runs them (one response in
 *   `EDGE_TIME_EVERY` timed), with every response timed, and with metrics and an access log;
 * - a DNS answer (`DnsHandler.handleQuery`) as `dns_handle_bench.ts` runs it, with the
 *   scheduler's counters (they are always on).
 */
import { formatHttp, openAccessLog } from "../log/access/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { type FastPath, Http1Exchange, serveHttp1 } from "../net/http1/mod.ts";
import {
  createEdgeObserver,
  EDGE_TIME_EVERY,
  EdgeMetrics,
} from "../edge/metrics.ts";
import { parseIp } from "../geo/mod.ts";
import { DnsHandler } from "../scheduler/answer/handler.ts";
import { encodeEcsQuery } from "../scheduler/dns/packet.ts";
import { ConfigEdgeSource } from "../scheduler/edges.ts";
import { DnsStats } from "../scheduler/stats.ts";
import { Authority } from "../scheduler/zone.ts";
import { GEO, ManualHealth, testConfig } from "../tests/scheduler/_fixtures.ts";

// --- primitives ---------------------------------------------------------------------------

const reg = new MetricsRegistry();
const fam = reg.counter("meridian_bench_total", "bench", {
  labelNames: ["cache", "status_class"],
});
const child = fam.labels("hit", "2xx");
const hist = reg.histogram("meridian_bench_seconds", "bench").labels();
const old = reg.counter("meridian_bench_old_total", "bench");
let v = 0;

Deno.bench(
  { name: "CounterChild.inc()", group: "primitives", baseline: true },
  () => {
    child.inc();
  },
);
Deno.bench({
  name: "HistogramChild.observe() (14 buckets)",
  group: "primitives",
}, () => {
  hist.observe((v++ % 1000) / 100_000);
});
Deno.bench({ name: "family.labels(a, b) lookup", group: "primitives" }, () => {
  fam.labels("hit", "2xx");
});
Deno.bench(
  { name: "older form inc({ kind, status })", group: "primitives" },
  () => {
    old.inc({ kind: "ts", status: 200 });
  },
);
Deno.bench({ name: "performance.now()", group: "primitives" }, () => {
  performance.now();
});

// --- the edge's observer ------------------------------------------------------------------

const head = {
  method: "GET",
  target: "/live/demo.m3u8",
  minorVersion: 1 as const,
  fields: ["host", "edge", "user-agent", "hls.js/1.5"],
  host: "edge",
  headBytes: 60,
  body: 0 as const,
  keepAlive: true,
  expectContinue: false,
};
const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 5 };
const observeMetrics = createEdgeObserver(
  new EdgeMetrics(new MetricsRegistry()),
  undefined,
);
const logDir = await Deno.makeTempDir({ prefix: "meridian-bench-" });
const accessLog = await openAccessLog(
  { enabled: true, format: "json", destination: `${logDir}/edge.log` },
  { role: "edge", signals: false },
);
const observeLogged = createEdgeObserver(
  new EdgeMetrics(new MetricsRegistry()),
  accessLog,
);
const untimed = () => {
  const x = new Http1Exchange(head, addr, undefined);
  x.fast = true;
  x.label = "hit";
  x.status = 200;
  x.bytes = 600;
  return x;
};
const exchange = () => {
  const x = new Http1Exchange(head, addr, performance.now());
  x.fast = true;
  x.label = "hit";
  x.status = 200;
  x.bytes = 600;
  x.firstByteMs = x.startMs;
  x.endMs = performance.now();
  return x;
};

Deno.bench({
  name: "exchange + 2 clock reads (no observer work)",
  group: "observer",
  baseline: true,
}, () => {
  exchange();
});
Deno.bench({ name: "edge observer: metrics", group: "observer" }, () => {
  observeMetrics(exchange());
});
Deno.bench({
  name: "edge observer: metrics, untimed exchange",
  group: "observer",
}, () => {
  observeMetrics(untimed());
});
Deno.bench({
  name: "edge observer: metrics + JSON access line",
  group: "observer",
}, () => {
  observeLogged(exchange());
});

// --- one access line ----------------------------------------------------------------------

const record = {
  time: Date.now(),
  client: "192.0.2.7",
  method: "GET",
  target: "/live/demo.m3u8",
  protocol: "HTTP/1.1",
  status: 200,
  bytes: 612,
  durationSeconds: 0.000184,
  ttfbSeconds: 0,
  cache: "hit",
  userAgent: "hls.js/1.5 (Mozilla/5.0 X11; Linux x86_64)",
  referer: undefined,
  completed: true,
};
Deno.bench(
  { name: "formatHttp() json", group: "access line", baseline: true },
  () => {
    formatHttp(record, "json", "edge");
  },
);
Deno.bench({ name: "formatHttp() combined", group: "access line" }, () => {
  formatHttp(record, "combined", "edge");
});
Deno.bench({
  name: "formatHttp() json, a query to redact",
  group: "access line",
}, () => {
  formatHttp(
    { ...record, target: "/live/demo.m3u8?token=ABCDEFGHIJKLMNOP&x=1" },
    "json",
    "edge",
  );
});

// --- a DNS answer -------------------------------------------------------------------------

const dnsConfig = testConfig();
const dnsHandler = (stats: DnsStats | undefined, sampled: boolean) =>
  new DnsHandler({
    authority: Authority.fromConfig(dnsConfig),
    geo: GEO,
    edges: new ConfigEdgeSource(dnsConfig),
    health: new ManualHealth(),
    config: dnsConfig,
    ...(stats ? { stats } : {}),
    ...(sampled
      ? {
        sample: {
          every: 100,
          record: (r) => void accessLog?.dns(r),
        },
      }
      : {}),
  });
const dnsClient = {
  address: parseIp("127.0.0.1")!.bytes,
  transport: "udp" as const,
};
const dnsQuery = encodeEcsQuery("live.meridian.test", "A", "81.2.69.0/24", 99);
const bare = dnsHandler(undefined, false);
const counted = dnsHandler(new DnsStats(), false);
const countedSampled = dnsHandler(new DnsStats(), true);
for (const h of [bare, counted, countedSampled]) {
  h.handleQuery(dnsQuery, dnsClient);
}

Deno.bench({
  name: "handleQuery, steered ECS /24: no stats",
  group: "dns",
  baseline: true,
}, () => {
  bare.handleQuery(dnsQuery, dnsClient);
});
Deno.bench({
  name: "handleQuery: stats (queries, answers per edge, 1/16 timed)",
  group: "dns",
}, () => {
  counted.handleQuery(dnsQuery, dnsClient);
});
Deno.bench({
  name: "handleQuery: stats + access log 1 query in 100",
  group: "dns",
}, () => {
  countedSampled.handleQuery(dnsQuery, dnsClient);
});

// --- a hit over a socket -------------------------------------------------------------------

const enc = new TextEncoder();
const body = new Uint8Array(358).fill(0x23);
const hitHead = enc.encode(
  "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.apple.mpegurl\r\ncache-control: public, max-age=3600\r\nage: 0\r\ncache-status: Meridian; hit; ttl=3600\r\nx-cache: HIT\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\ncontent-length: 358\r\n\r\n",
);
const hit = new Uint8Array(hitHead.length + body.length);
hit.set(hitHead);
hit.set(body, hitHead.length);
const fastPath: FastPath = (h, x) => {
  if (h.target !== "/live/demo.m3u8") return undefined;
  x.label = "hit";
  return [hit];
};
const PIPELINE = 64;
const request = enc.encode(
  "GET /live/demo.m3u8 HTTP/1.1\r\nHost: edge\r\nUser-Agent: bench\r\n\r\n"
    .repeat(PIPELINE),
);

function socketBench(
  observe: ((x: Http1Exchange) => void) | undefined,
  timeEvery = 1,
) {
  const server = serveHttp1({
    hostname: "127.0.0.1",
    port: 0,
    fastPath,
    timeEvery,
    ...(observe ? { observe } : {}),
  }, () => new Response("miss", { status: 404 }));
  // Connected at the first round: a connection idle through the other benches would be
  // closed by the server's idle deadline (30 s).
  let conn: Deno.TcpConn | undefined;
  const buf = new Uint8Array(1 << 20);
  const want = hit.length * PIPELINE;
  return {
    async round() {
      if (!conn) {
        conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: server.addr.port,
        });
        conn.setNoDelay(true);
      }
      await conn.write(request);
      let got = 0;
      while (got < want) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("closed");
        got += n;
      }
    },
    async close() {
      conn?.close();
      await server.shutdown(100);
    },
  };
}

const plain = socketBench(undefined);
const withMetrics = socketBench(
  createEdgeObserver(new EdgeMetrics(new MetricsRegistry()), undefined),
  EDGE_TIME_EVERY,
);
const withMetricsTimedAll = socketBench(
  createEdgeObserver(new EdgeMetrics(new MetricsRegistry()), undefined),
);
const withLog = socketBench(
  createEdgeObserver(new EdgeMetrics(new MetricsRegistry()), accessLog),
);

Deno.bench({
  name: `edge hit over loopback x${PIPELINE}: no observer (before)`,
  group: "socket",
  baseline: true,
}, async () => {
  await plain.round();
});
Deno.bench({
  name:
    `edge hit over loopback x${PIPELINE}: metrics, 1 in ${EDGE_TIME_EVERY} timed (the edge)`,
  group: "socket",
}, async () => {
  await withMetrics.round();
});
Deno.bench({
  name: `edge hit over loopback x${PIPELINE}: metrics, every one timed`,
  group: "socket",
}, async () => {
  await withMetricsTimedAll.round();
});
Deno.bench({
  name: `edge hit over loopback x${PIPELINE}: metrics + access log`,
  group: "socket",
}, async () => {
  await withLog.round();
});

globalThis.addEventListener("unload", () => {
  void plain.close();
  void withMetrics.close();
  void withMetricsTimedAll.close();
  void withLog.close();
  void accessLog?.close();
  try {
    Deno.removeSync(logDir, { recursive: true });
  } catch {
    // gone
  }
});
