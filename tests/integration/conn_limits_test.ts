/**
 * Whole roles against abusive clients, over raw sockets: the Host, method, target and version
 * rules on the edge (cached hit, miss, handler) and the origin; the origin's HTTP and RTMP ports
 * with loopback untrusted (a flood of slow sockets next to an HTTP-FLV viewer, the per-address
 * caps, `origin.maxStreams`), each refusal in `/metrics`; the control and scheduler HTTP ports
 * under the same limits.
 */
import assert from "node:assert/strict";
import { decodeCommand, type RtmpMessage } from "../../codec/rtmp/mod.ts";
import { type LimitsConfig, parseConfig } from "../../config/mod.ts";
import { startControl } from "../../control/mod.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { startOrigin } from "../../origin/mod.ts";
import { startScheduler } from "../../scheduler/mod.ts";
import {
  edgeConfig,
  startTestEdge,
  startTestOrigin,
} from "../edge/_helpers/fixtures.ts";
import { waitFor } from "../_helpers/peers.ts";
import { RawClient } from "../_helpers/rtmp_client.ts";
import { connectFrom, readUntil } from "../_helpers/sockets.ts";
import { GEO, testConfig } from "../scheduler/_fixtures.ts";
import { withTempDir } from "../store/_temp_store.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** Sends `wire` on a new connection and reads until the server closes (or 3 s). */
async function exchange(port: number, wire: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc(wire));
    return (await readUntil(conn, 3000)).text;
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

function statusOf(text: string): string {
  return text.slice(0, text.indexOf("\r\n"));
}

function closeAll(conns: Iterable<Deno.Conn>): void {
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed by the server */ }
  }
}

/** The cases of RFC 9112 §3.2 / §2.3 and RFC 9110 §9.1 for one path, as `[wire, status]`. */
function conformanceCases(path: string): [string, string, RegExp][] {
  const c = "Connection: close\r\n";
  return [
    [
      "Host rewriting the path",
      `GET ${path} HTTP/1.1\r\nHost: h/obj/EVIL#\r\n${c}\r\n`,
      /^HTTP\/1\.1 400 /,
    ],
    [
      "two Host fields",
      `GET ${path} HTTP/1.1\r\nHost: a\r\nHost: a\r\n${c}\r\n`,
      /^HTTP\/1\.1 400 /,
    ],
    ["no Host", `GET ${path} HTTP/1.1\r\n${c}\r\n`, /^HTTP\/1\.1 400 /],
    [
      "lower-case get",
      `get ${path} HTTP/1.1\r\nHost: a\r\n${c}\r\n`,
      /^HTTP\/1\.1 501 /,
    ],
    [
      "9 KiB target",
      `GET ${path}?${"q".repeat(9 * 1024)} HTTP/1.1\r\nHost: a\r\n${c}\r\n`,
      /^HTTP\/1\.1 414 /,
    ],
    [
      "HTTP/1.2",
      `GET ${path} HTTP/1.2\r\nHost: a\r\n${c}\r\n`,
      /^HTTP\/1\.1 200 /,
    ],
  ];
}

Deno.test("edge: Host, method, target and version rules hold on a cached hit, a miss and the handler", async () => {
  const origin = startTestOrigin((_req, url) =>
    new Response(`origin ${url.pathname}`, {
      headers: { "cache-control": "max-age=60" },
    })
  );
  const edge = await startTestEdge(edgeConfig([origin.url]));
  try {
    const base = `http://127.0.0.1:${edge.port}`;
    for (let i = 0; i < 2; i++) await (await fetch(`${base}/obj/N`)).text();
    const hit = await fetch(`${base}/obj/N`);
    assert.equal(hit.headers.get("x-cache"), "HIT");
    await hit.body?.cancel();

    // The audit's request: target /obj/M, Host h/obj/EVIL# (answered /obj/EVIL before).
    const evil = await exchange(
      edge.port,
      "GET /obj/M HTTP/1.1\r\nHost: h/obj/EVIL#\r\nConnection: close\r\n\r\n",
    );
    assert.match(evil, /^HTTP\/1\.1 400 /);
    assert.equal(origin.count("/obj/EVIL"), 0);
    assert.equal(origin.count("/obj/M"), 0);

    // On the hit (the fast path), on a miss and on the handler's routes alike.
    for (const path of ["/obj/N", "/obj/MISS", "/healthz"]) {
      for (const [what, wire, status] of conformanceCases(path)) {
        const text = await exchange(edge.port, wire);
        assert.match(text, status, `${what} ${path}: ${statusOf(text)}`);
      }
    }
    // `get` neither reached the origin nor filled the cache.
    await exchange(
      edge.port,
      "get /obj/G HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert.equal(origin.count("/obj/G"), 0);
    const g = await fetch(`${base}/obj/G`);
    assert.equal(g.headers.get("x-cache"), "MISS");
    await g.body?.cancel();
  } finally {
    await edge.close();
    await origin.close();
  }
});

Deno.test("origin: Host, method, target and version rules hold on its HTTP port", async () => {
  const config = parseConfig({
    origin: { rtmpPort: 0, httpPort: 0, virtualLive: [] },
  });
  const origin = await startOrigin(config.origin, {
    log: silentLogger,
    metrics: new MetricsRegistry(),
  });
  try {
    for (const path of ["/api/streams", "/healthz"]) {
      for (const [what, wire, status] of conformanceCases(path)) {
        const text = await exchange(origin.httpPort, wire);
        assert.match(text, status, `${what} ${path}: ${statusOf(text)}`);
      }
    }
  } finally {
    await origin.close();
  }
});

/** Loopback is not trusted: 127.0.0.1 is an ordinary client of every listener. */
function untrusted(patch: {
  http?: Partial<LimitsConfig["http"]>;
  rtmp?: Partial<LimitsConfig["rtmp"]>;
}): LimitsConfig {
  const d = parseConfig({}).limits;
  return {
    ...d,
    trustedNetworks: ["10.0.0.0/8"],
    http: { ...d.http, ...patch.http },
    rtmp: { ...d.rtmp, ...patch.rtmp },
  };
}

Deno.test({
  name:
    "origin: a flood of slow sockets from one address leaves its HTTP-FLV viewer and fresh clients served; per-address caps and maxStreams refuse, in /metrics",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const metrics = new MetricsRegistry();
    const config = parseConfig({
      origin: { rtmpPort: 0, httpPort: 0, maxStreams: 1 }, // the demo channel is the one
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics,
      limits: untrusted({
        http: { maxConnections: 8, maxConnectionsPerAddress: 0 },
        rtmp: { maxConnectionsPerAddress: 2 },
      }),
    });
    const held: Deno.Conn[] = [];
    try {
      const http = origin.httpPort;
      await waitFor(
        "the demo channel",
        () => origin.registry.get("live", "demo")?.live || undefined,
      );
      const viewer = await Deno.connect({ hostname: "127.0.0.1", port: http });
      held.push(viewer);
      await viewer.write(
        enc("GET /live/demo.flv HTTP/1.1\r\nHost: o\r\n\r\n"),
      );
      const start = await readUntil(viewer, 3000, "FLV");
      assert.match(start.text, /^HTTP\/1\.1 200 /);

      // 40 sockets trickle half a head and wait: the listener (8) fills and turns over.
      for (let i = 0; i < 40; i++) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port: http });
        held.push(c);
        await c.write(enc("GET /api/str"));
      }
      const t0 = Date.now();
      const fresh = await exchange(
        http,
        "GET /api/streams HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n",
      );
      const freshMs = Date.now() - t0;
      assert.match(fresh, /^HTTP\/1\.1 200 [^]*"demo"/);
      assert.ok(freshMs < 1000, `fresh client waited ${freshMs} ms`);
      // The viewer is still written to: more FLV bytes arrive after the flood.
      const more = await readUntil(viewer, 3000);
      assert.ok(more.bytes > 0 && !more.closed, "the viewer was cut");

      // RTMP: the third socket of one address is closed at once; 127.0.0.2 gets a handshake.
      const a = await RawClient.connect(origin.rtmpPort);
      held.push(a.conn);
      const b = await Deno.connect({
        hostname: "127.0.0.1",
        port: origin.rtmpPort,
      });
      held.push(b);
      await waitFor("two RTMP sockets", () =>
        metrics.render().includes(
          'meridian_connections_open{listener="origin_rtmp"} 2',
        ) || undefined);
      const third = await Deno.connect({
        hostname: "127.0.0.1",
        port: origin.rtmpPort,
      });
      held.push(third);
      const r = await readUntil(third, 3000);
      assert.equal(r.closed, true);
      assert.equal(r.bytes, 0);
      const other = await connectFrom("127.0.0.2", origin.rtmpPort);
      try {
        const c0c1 = new Uint8Array(1537);
        c0c1[0] = 3;
        await other.write(c0c1);
        assert.ok((await other.read(3000)).bytes >= 3073);
      } finally {
        other.close();
      }

      // maxStreams 1, taken by the demo channel: a publish is refused with an error status.
      await a.send("connect", 1, { app: "live" }, []);
      await a.send("createStream", 2, null, []);
      await a.send("publish", 0, null, ["extra", "live"], 1);
      const status = await a.until((m: RtmpMessage) =>
        m.typeId === 20 && decodeCommand(m.payload, 20).name === "onStatus"
      );
      const info = decodeCommand(status.payload, 20).args[0] as {
        level: string;
        code: string;
      };
      assert.deepEqual([info.level, info.code], [
        "error",
        "NetStream.Publish.Rejected",
      ]);

      const text = metrics.render();
      assert.match(
        text,
        /meridian_connections_evicted_total\{listener="origin_http"\} 34\n/,
      );
      assert.match(
        text,
        /meridian_connections_refused_total\{listener="origin_rtmp",reason="per_address"\} 1\n/,
      );
      assert.match(
        text,
        /meridian_origin_rtmp_refused_total\{action="publish",reason="max_streams"\} 1\n/,
      );
      assert.equal(origin.registry.get("live", "extra"), undefined);
    } finally {
      closeAll(held);
      await origin.close();
    }
  },
});

Deno.test("origin: the HTTP port refuses the N+1th socket of one address with 429 while 127.0.0.2 is served", async () => {
  const metrics = new MetricsRegistry();
  const config = parseConfig({
    origin: { rtmpPort: 0, httpPort: 0, virtualLive: [] },
  });
  const origin = await startOrigin(config.origin, {
    log: silentLogger,
    metrics,
    limits: untrusted({ http: { maxConnectionsPerAddress: 3 } }),
  });
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const c = await Deno.connect({
        hostname: "127.0.0.1",
        port: origin.httpPort,
      });
      held.push(c);
      await c.write(enc("GET /"));
    }
    await waitFor("three held", () =>
      metrics.render().includes(
        'meridian_connections_open{listener="origin_http"} 3',
      ) || undefined);
    const refused = await exchange(
      origin.httpPort,
      "GET /healthz HTTP/1.1\r\nHost: o\r\n\r\n",
    );
    assert.match(refused, /^HTTP\/1\.1 429 /);
    const other = await connectFrom("127.0.0.2", origin.httpPort);
    try {
      await other.write(
        "GET /healthz HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n",
      );
      assert.match((await other.read(3000)).text, /^HTTP\/1\.1 200 /);
    } finally {
      other.close();
    }
    assert.match(
      metrics.render(),
      /meridian_connections_refused_total\{listener="origin_http",reason="per_address"\} 1\n/,
    );
  } finally {
    closeAll(held);
    await origin.close();
  }
});

Deno.test("control and scheduler: their HTTP ports apply limits.http (per-address 429, head deadline), in /metrics", async () => {
  await withTempDir(async (dir) => {
    const { openStore } = await import("../../store/mod.ts");
    const store = await openStore({ path: "" }, dir);
    const metrics = new MetricsRegistry();
    const limits = untrusted({
      http: { maxConnectionsPerAddress: 2, headTimeoutMs: 300 },
    });
    const control = await startControl(
      { ...parseConfig({}).control, port: 0 },
      { store, dataDir: dir, log: silentLogger, metrics, limits },
    );
    const scheduler = await startScheduler(testConfig(), {
      geo: GEO,
      metrics,
      limits,
    });
    const held: Deno.Conn[] = [];
    try {
      for (
        const [name, port] of [
          ["control_http", control.port],
          ["scheduler_http", scheduler.httpPort],
        ] as const
      ) {
        // A head trickled too slowly is cut at the deadline (Deno.serve had none).
        const slow = await Deno.connect({ hostname: "127.0.0.1", port });
        await slow.write(enc("GET /healthz HTTP/1.1\r\n"));
        const cut = await readUntil(slow, 3000);
        closeAll([slow]);
        assert.match(cut.text, /^HTTP\/1\.1 408 /, name);
        assert.ok(cut.ms < 1500, `${name} cut after ${cut.ms} ms`);
        for (let i = 0; i < 2; i++) {
          const c = await Deno.connect({ hostname: "127.0.0.1", port });
          held.push(c);
          await c.write(enc("GET /"));
        }
        await waitFor(`${name} two held`, () =>
          metrics.render().includes(
            `meridian_connections_open{listener="${name}"} 2`,
          ) || undefined);
        const refused = await exchange(
          port,
          "GET /healthz HTTP/1.1\r\nHost: c\r\n\r\n",
        );
        assert.match(refused, /^HTTP\/1\.1 429 /, name);
        const ok = await connectFrom("127.0.0.2", port);
        try {
          await ok.write(
            "GET /healthz HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n",
          );
          assert.match((await ok.read(3000)).text, /^HTTP\/1\.1 200 /, name);
        } finally {
          ok.close();
        }
        assert.match(
          metrics.render(),
          new RegExp(
            `meridian_connections_refused_total\\{listener="${name}",reason="per_address"\\} 1\\n`,
          ),
        );
      }
    } finally {
      closeAll(held);
      await scheduler.close();
      await control.close();
      await store.close();
    }
  });
});
