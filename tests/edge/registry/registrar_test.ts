import assert from "node:assert/strict";
import { EDGE_DEFAULTS } from "../../../config/edge_schema.ts";
import {
  deriveEdgeIdentity,
  EdgeRegistrar,
} from "../../../edge/registry/registrar.ts";
import { silentLogger } from "../../../log/mod.ts";
import { MAX_EDGE_STREAMS, streamKey } from "../../../store/mod.ts";
import { withStore } from "../../store/_temp_store.ts";
import { ManualClock, startTestEdge } from "../_helpers/fixtures.ts";
import { edgeConfig, startTestOrigin } from "../_helpers/fixtures.ts";

const REG = EDGE_DEFAULTS.registry;

Deno.test("deriveEdgeIdentity() fills id, addresses and base URL from the bind address", () => {
  const local = deriveEdgeIdentity(
    REG,
    { hostname: "127.0.0.1", port: 8080 },
    "web 1.example",
  );
  assert.equal(local.id, "web-1.example-8080");
  assert.equal(local.address, "127.0.0.1");
  assert.equal(local.address6, "");
  assert.equal(local.baseUrl, "http://127.0.0.1:8080");

  // A wildcard bind is never an answer: the public address is, and the base URL uses it.
  const wild = deriveEdgeIdentity(
    { ...REG, publicAddress: "203.0.113.5", publicAddress6: "2001:db8::5" },
    { hostname: "0.0.0.0", port: 80 },
    "h",
  );
  assert.deepEqual(
    [wild.address, wild.address6, wild.baseUrl],
    ["203.0.113.5", "2001:db8::5", "http://203.0.113.5:80"],
  );
  const wildNoAddress = deriveEdgeIdentity(REG, {
    hostname: "0.0.0.0",
    port: 80,
  }, "h");
  assert.deepEqual(
    [wildNoAddress.address, wildNoAddress.baseUrl],
    ["", "http://h:80"],
  );

  const v6 = deriveEdgeIdentity(REG, { hostname: "::1", port: 8080 }, "h");
  assert.deepEqual(
    [v6.address, v6.address6, v6.baseUrl],
    ["", "::1", "http://[::1]:8080"],
  );

  // Explicit values win; the rest of the section is copied.
  const set = deriveEdgeIdentity(
    {
      ...REG,
      id: "fra1",
      baseUrl: "https://fra1.cdn.example",
      region: "eu-central",
      capacityViewers: 5000,
    },
    { hostname: "127.0.0.1", port: 8080 },
    "h",
  );
  assert.deepEqual(
    [
      set.id,
      set.baseUrl,
      set.region,
      set.capacityViewers,
      set.heartbeatSeconds,
    ],
    ["fra1", "https://fra1.cdn.example", "eu-central", 5000, 5],
  );
  // A long hostname is cut to the registry's 64 characters, keeping the port.
  const long = deriveEdgeIdentity(
    REG,
    { hostname: "127.0.0.1", port: 8080 },
    "x".repeat(80),
  );
  assert.equal(long.id.length, 64);
  assert.ok(long.id.endsWith("-8080"));
});

Deno.test("EdgeRegistrar registers, heartbeats the current load and deregisters on close", async () => {
  await withStore(async (store) => {
    const clock = new ManualClock();
    let viewers = 1;
    const identity = deriveEdgeIdentity(
      { ...REG, id: "fra1", heartbeatSeconds: 3600 },
      { hostname: "127.0.0.1", port: 8080 },
      "h",
    );
    const r = new EdgeRegistrar(identity, {
      registry: store.edges,
      load: () => ({ viewers, egressBitsPerSecond: 8e6, hitRatio: 0.9 }),
      log: silentLogger,
      clock: clock.now,
    });
    await r.start();
    const first = (await store.edges.snapshot(clock.nowMs)).edges;
    assert.equal(first.length, 1);
    assert.deepEqual(first[0], {
      ...identity,
      registeredAtMs: clock.nowMs,
      updatedAtMs: clock.nowMs,
      load: { viewers: 1, egressBitsPerSecond: 8e6, hitRatio: 0.9 },
    });
    clock.advance(60_000);
    viewers = 7;
    await r.heartbeat();
    const beat = (await store.edges.snapshot(clock.nowMs)).edges[0]!;
    assert.equal(beat.load.viewers, 7);
    assert.equal(beat.updatedAtMs, clock.nowMs);
    assert.equal(beat.registeredAtMs, clock.nowMs - 60_000);
    await r.close();
    assert.equal((await store.edges.snapshot(clock.nowMs)).edges.length, 0);
  });
});

Deno.test("EdgeRegistrar heartbeats the streams it serves as keys, merged and bounded", async () => {
  await withStore(async (store) => {
    const clock = new ManualClock();
    let sessions = [
      { path: "/live/demo.flv", viewers: 3 },
      { path: "/live/demo.flv?token=abc", viewers: 1 },
      { path: "/", viewers: 9 },
    ];
    const r = new EdgeRegistrar(
      deriveEdgeIdentity(
        { ...REG, id: "fra1", heartbeatSeconds: 3600 },
        { hostname: "127.0.0.1", port: 8080 },
        "h",
      ),
      {
        registry: store.edges,
        load: () => ({ viewers: 4, egressBitsPerSecond: 0, hitRatio: 0 }),
        streams: () => sessions,
        log: silentLogger,
        clock: clock.now,
      },
    );
    await r.start();
    try {
      const rec = (await store.edges.snapshot(clock.nowMs)).edges[0]!;
      assert.deepEqual(rec.load.streams, [
        { key: streamKey("live", "demo"), viewers: 4 },
      ]);
      assert.ok(!JSON.stringify(rec).includes("demo"), "no name in the clear");
      // Thousands of sessions: the busiest MAX_EDGE_STREAMS go out.
      sessions = Array.from(
        { length: 3000 },
        (_, i) => ({ path: `/live/s${i}.flv`, viewers: i }),
      );
      clock.advance(1000);
      await r.heartbeat();
      const beat = (await store.edges.snapshot(clock.nowMs)).edges[0]!;
      assert.equal(beat.load.streams?.length, MAX_EDGE_STREAMS);
      assert.deepEqual(beat.load.streams?.[0], {
        key: streamKey("live", "s2999"),
        viewers: 2999,
      });
    } finally {
      await r.close();
    }
  });
});

Deno.test("startEdge() with a store registers the edge at its bound port and leaves on close", async () => {
  await withStore(async (store) => {
    const origin = startTestOrigin(() => new Response("x"));
    const edge = await startTestEdge(
      {
        ...edgeConfig([origin.url]),
        registry: { ...REG, region: "eu-central", heartbeatSeconds: 0.2 },
      },
      { store },
    );
    try {
      const id = edge.registrar!.identity.id;
      assert.ok(id.endsWith(`-${edge.port}`), id);
      const [rec] = (await store.edges.snapshot(Date.now())).edges;
      assert.equal(rec?.id, id);
      assert.equal(rec?.region, "eu-central");
      assert.equal(rec?.baseUrl, `http://127.0.0.1:${edge.port}`);
      // The registered base URL is where the scheduler checks health.
      const h = await fetch(`${rec!.baseUrl}/healthz`);
      assert.equal(h.status, 200);
      assert.equal((await h.json()).load.viewers, 0);
      // Heartbeats keep it fresh past the expiry of the first write (3 × 0.2 s).
      await new Promise((r) => setTimeout(r, 800));
      const later = (await store.edges.snapshot(Date.now())).edges[0];
      assert.ok(later && later.updatedAtMs > rec!.updatedAtMs);
    } finally {
      await edge.close();
      await origin.close();
    }
    assert.equal((await store.edges.snapshot(Date.now())).edges.length, 0);
  });
});
