/**
 * The admin endpoints added for the console, in process (`app.request`, no port): tokens minted
 * by POST, purge published on the shared feed, prefetch published on the shared feed, the edge registry and drain
 * flags, the merged stream directory, the redacted config.
 */
import { waitFor } from "../_helpers/peers.ts";
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { REDACTED } from "../../control/mod.ts";
import {
  type EdgeRecord,
  type FeedEntry,
  KvStore,
  type OriginListing,
  streamKey,
} from "../../store/mod.ts";

import {
  ADMIN_TOKEN,
  type ControlFixture,
  T0,
  withControlApp,
} from "./_control_app.ts";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

function post(
  f: ControlFixture,
  path: string,
  body: unknown,
  headers: Record<string, string> = auth,
  method = "POST",
): Promise<Response> {
  return f.request(path, {
    method,
    headers: { ...headers, "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function edge(id: string, patch: Partial<EdgeRecord> = {}): EdgeRecord {
  return {
    id,
    region: "eu",
    latitude: 50,
    longitude: 8,
    address: "192.0.2.1",
    address6: "",
    baseUrl: "http://127.0.0.1:8080",
    capacityBps: 1e9,
    capacityViewers: 100,
    heartbeatSeconds: 5,
    registeredAtMs: T0,
    updatedAtMs: T0,
    load: { viewers: 3, egressBitsPerSecond: 4e6, hitRatio: 0.5 },
    ...patch,
  };
}

function listing(
  originId: string,
  names: string[],
  patch: Partial<OriginListing> = {},
): OriginListing {
  return {
    originId,
    httpUrl: `http://${originId}`,
    rtmpUrl: `rtmp://${originId.replace(/:\d+$/, ":1935")}`,
    streams: names.map((n) => ({
      app: "live",
      name: n,
      startedAt: new Date(T0).toISOString(),
      viewers: 2,
      bytesIn: 1000,
      codecs: { video: "H264", audio: "AAC" },
      protocol: "rtmp",
    })),
    omitted: 0,
    updatedAtMs: T0,
    ttlMs: 6000,
    ...patch,
  };
}

const ROUTES: readonly [string, string, unknown?][] = [
  ["POST", "/admin/tokens", { duration: 60 }],
  ["POST", "/admin/purge", { all: true }],
  ["POST", "/admin/prefetch", { urls: ["/a"] }],
  ["GET", "/admin/edges"],
  ["POST", "/admin/edges/e1/drain"],
  ["DELETE", "/admin/edges/e1/drain"],
  ["GET", "/admin/streams"],
  ["GET", "/admin/config"],
];

/** A fence on the feed: once our own marker arrives, every event published before it has. */
async function fence(
  store: { publish(e: FeedEntry["event"]): Promise<void> },
  seen: readonly FeedEntry[],
): Promise<void> {
  await store.publish({ kind: "edge.deregistered", edgeId: "fence" });
  await waitFor(
    "the fence event",
    () => seen.some(isFence) || undefined,
    5000,
    10,
  );
}

function isFence(e: FeedEntry): boolean {
  return e.event.kind === "edge.deregistered" && e.event.edgeId === "fence";
}

Deno.test("every new admin route answers 401 without or with a wrong bearer token, and changes nothing", async () => {
  await withControlApp(async (f) => {
    const seen: FeedEntry[] = [];
    f.store.subscribe((e) => seen.push(e));
    await f.store.edges.register(edge("e1"));
    let client = 0;
    for (const [method, path, body] of ROUTES) {
      for (
        const headers of [
          {},
          { Authorization: "Bearer wrong-token-0123456789" },
        ] as Record<string, string>[]
      ) {
        const res = await f.request(path, {
          method,
          headers: { ...headers, "Content-Type": "application/json" },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          // One address each: wrong tokens from one client would lock it out (429).
        }, `198.51.100.${++client}`);
        assert.equal(res.status, 401, `${method} ${path}`);
        assert.match(res.headers.get("WWW-Authenticate") ?? "", /^Bearer /);
        await res.body?.cancel();
      }
    }
    assert.deepEqual(await f.store.listTokens(), []);
    assert.equal((await f.store.edges.snapshot(T0)).drains.size, 0);
    await fence(f.store, seen);
    assert.deepEqual(
      seen.filter((e) => !isFence(e)).map((e) => e.event.kind).filter((k) =>
        k !== "edge.registered"
      ),
      [],
    );
  }, { config: parseConfig({}) });
});

Deno.test("POST /admin/tokens mints a token with app, duration and limit, listed by GET /admin/tokens", async () => {
  await withControlApp(async (f) => {
    const res = await post(f, "/admin/tokens", {
      app: "live",
      duration: 60,
      limit: 2,
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("Cache-Control"), "no-store");
    const { token } = await res.json();
    assert.match(token.token, /^[A-Za-z0-9]{16}$/);
    assert.deepEqual({ ...token, token: "x" }, {
      token: "x",
      app: "live",
      createdAt: new Date(T0).toISOString(),
      expiresAt: new Date(T0 + 60_000).toISOString(),
      maxUses: 2,
      usesSpent: 0,
      usesLeft: 2,
      state: "active",
    });
    const stored = await f.store.getToken(token.token);
    assert.equal(stored?.expiresAtMs, T0 + 60_000);
    // Omitted fields take the configured defaults; an empty app means every app.
    const d = await (await post(f, "/admin/tokens", { app: "" })).json();
    assert.equal(d.token.app, null);
    assert.equal(d.token.maxUses, 0);
    assert.equal(d.token.expiresAt, new Date(T0 + 3600_000).toISOString());
    const list = await (await f.request("/admin/tokens", { headers: auth }))
      .json();
    assert.deepEqual(
      list.tokens.map((t: { token: string }) => t.token).sort(),
      [token.token, d.token.token].sort(),
    );
  });
});

Deno.test("POST /admin/tokens answers 400 naming the bad field", async () => {
  await withControlApp(async (f) => {
    for (
      const [body, want] of [
        ["not json", /expected JSON/],
        [[1], /expected a JSON object/],
        [{ app: "../etc" }, /Invalid app: got "..\/etc"/],
        [{ app: 5 }, /Invalid app: got 5/],
        [{ duration: 0 }, /Invalid duration: got 0, expected an integer 1\.\./],
        [{ duration: 1.5 }, /Invalid duration: got 1\.5/],
        [{ duration: "60" }, /Invalid duration: got "60"/],
        [{ limit: -1 }, /Invalid limit: got -1, expected an integer 0\.\./],
        [{ uses: 1 }, /unknown field "uses"/],
      ] as const
    ) {
      const res = await post(f, "/admin/tokens", body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(await res.text(), want);
    }
    assert.deepEqual(await f.store.listTokens(), []);
  });
});

Deno.test("POST /admin/purge publishes on the feed: a second store handle's subscriber gets it", async () => {
  await withControlApp(async (f) => {
    // A second handle on the same KV file, as another process (an edge) would have.
    const other = await KvStore.open(f.kvPath, { pollIntervalMs: 20 });
    try {
      const got: FeedEntry[] = [];
      other.subscribe((e) => {
        if (e.event.kind === "purge") got.push(e);
      });
      const res = await post(f, "/admin/purge", {
        urls: ["/live/demo.m3u8", "http://cdn.example/vod/a.mp4?x=1"],
        prefixes: ["/vod/"],
        streams: ["live/cam1"],
        all: false,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        published: true,
        urls: 2,
        prefixes: 1,
        streams: 1,
        all: false,
      });
      await waitFor("purge on the second handle", () => got.length > 0, 5000);
      // Stamped when published: edges show the purge lag from it.
      const { publishedAtMs, ...event } = got[0]!.event as {
        publishedAtMs?: number;
      };
      assert.ok(typeof publishedAtMs === "number" && publishedAtMs > 0);
      assert.deepEqual(event, {
        kind: "purge",
        urls: ["/live/demo.m3u8", "/vod/a.mp4?x=1"],
        prefixes: ["/vod/"],
        streams: ["live/cam1"],
        all: false,
      });
      const all = await post(f, "/admin/purge", { all: true });
      assert.equal(all.status, 200);
      await all.body?.cancel();
      await waitFor("purge all", () => got.length > 1, 5000);
      assert.equal(
        (got[1]!.event as { all: boolean }).all,
        true,
      );
    } finally {
      await other.close();
    }
  });
});

Deno.test("POST /admin/purge answers 400 for bad bodies and 413 past the size bound", async () => {
  await withControlApp(async (f) => {
    const seen: FeedEntry[] = [];
    f.store.subscribe((e) => seen.push(e));
    for (
      const [body, want] of [
        ["{", /expected JSON/],
        [{}, /nothing to purge/],
        [{ urls: "/a" }, /'urls': expected a list of strings/],
        [
          { urls: ["live/a.m3u8"] },
          /'urls': expected a path starting with '\/'/,
        ],
        [{ urls: ["//evil/a"] }, /'urls'/],
        [
          { prefixes: ["vod/"] },
          /'prefixes': expected a path starting with '\/'/,
        ],
        [{ streams: ["live"] }, /'streams': expected app\/stream, got "live"/],
        [{ streams: ["../x/y"] }, /'streams'/],
        [{ all: "yes" }, /'all': got "yes", expected a boolean/],
        [{ all: true, purge: 1 }, /unknown field "purge"/],
        [{ urls: ["/" + "a".repeat(3000)] }, /expected 1\.\.2048 characters/],
        [
          { urls: Array.from({ length: 10_001 }, (_, i) => `/${i}`) },
          /at most 10000 entries, got 10001/,
        ],
      ] as const
    ) {
      const res = await post(f, "/admin/purge", body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
      assert.match(await res.text(), want);
    }
    const big = await post(f, "/admin/purge", {
      urls: Array.from({ length: 600 }, () => "/" + "a".repeat(2000)),
    });
    assert.equal(big.status, 413);
    assert.match(await big.text(), /at most 1048576 bytes/);
    await fence(f.store, seen);
    assert.deepEqual(seen.filter((e) => e.event.kind === "purge"), []);
  });
});

Deno.test("POST /admin/prefetch publishes the paths on the shared feed; bad bodies are 400", async () => {
  await withControlApp(async (f) => {
    const seen: FeedEntry[] = [];
    const unsubscribe = f.store.subscribe((e) => void seen.push(e));
    try {
      const res = await post(f, "/admin/prefetch", {
        urls: ["/vod/a.mp4", "/live/t.m3u8"],
      });
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), { accepted: 2 });
      for (
        const bad of [{}, { urls: [] }, { urls: ["vod/a.mp4"] }, { urls: [1] }]
      ) {
        const r = await post(f, "/admin/prefetch", bad);
        assert.equal(r.status, 400, JSON.stringify(bad));
        await r.body?.cancel();
      }
      const deadline = Date.now() + 2000;
      while (
        !seen.some((e) => e.event.kind === "prefetch") && Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const events = seen.filter((e) => e.event.kind === "prefetch").map((e) =>
        e.event
      );
      assert.deepEqual(events, [{
        kind: "prefetch",
        urls: ["/vod/a.mp4", "/live/t.m3u8"],
      }]);
    } finally {
      unsubscribe();
    }
  });
});

Deno.test("GET /admin/edges shows the registry: load, drain state and combined health", async () => {
  await withControlApp(async (f) => {
    const now = Date.now();
    f.clock.now = now;
    await f.store.edges.register(
      edge("ams1", { registeredAtMs: now, updatedAtMs: now }),
    );
    await f.store.edges.register(
      edge("fra1", {
        address: "192.0.2.2",
        registeredAtMs: now,
        updatedAtMs: now,
      }),
    );
    await f.store.edges.register(
      edge("old", { updatedAtMs: now - 60_000 }),
    );
    await f.store.edges.reportHealth(
      "s1",
      [
        { edgeId: "ams1", up: true, lastError: "" },
        { edgeId: "fra1", up: false, lastError: "timeout" },
      ],
      now,
      10_000,
    );
    await f.store.edges.reportHealth(
      "s2",
      [
        { edgeId: "fra1", up: false, lastError: "refused" },
      ],
      now,
      10_000,
    );
    await f.store.edges.setDraining("fra1", true, now);
    await f.store.edges.setDraining("gone", true, now);
    const res = await f.request("/admin/edges", { headers: auth });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(
      body.edges.map((
        e: { id: string; health: string; draining: boolean },
      ) => [e.id, e.health, e.draining]),
      [["ams1", "up", false], ["fra1", "down", true]],
    );
    const fra = body.edges[1];
    assert.equal(fra.address, "192.0.2.2");
    assert.deepEqual(fra.load, {
      viewers: 3,
      egressBitsPerSecond: 4e6,
      hitRatio: 0.5,
    });
    assert.equal(fra.drainingSince, new Date(now).toISOString());
    assert.deepEqual(
      fra.healthViews.map((v: { schedulerId: string; lastError: string }) =>
        v.schedulerId + ":" + v.lastError
      ).sort(),
      ["s1:timeout", "s2:refused"],
    );
    assert.deepEqual(body.drainedOffline, [
      { id: "gone", since: new Date(now).toISOString() },
    ]);
  });
});

Deno.test("POST/DELETE /admin/edges/{id}/drain set the registry's drain flag; unknown ids 404", async () => {
  await withControlApp(async (f) => {
    const now = Date.now();
    f.clock.now = now;
    await f.store.edges.register(
      edge("ams1", { registeredAtMs: now, updatedAtMs: now }),
    );
    const on = await post(f, "/admin/edges/ams1/drain", undefined);
    assert.equal(on.status, 200);
    assert.deepEqual(await on.json(), { id: "ams1", draining: true });
    assert.ok((await f.store.edges.snapshot(now)).drains.has("ams1"));
    const off = await post(
      f,
      "/admin/edges/ams1/drain",
      undefined,
      auth,
      "DELETE",
    );
    assert.deepEqual(await off.json(), { id: "ams1", draining: false });
    assert.ok(!(await f.store.edges.snapshot(now)).drains.has("ams1"));
    const unknown = await post(f, "/admin/edges/nope/drain", undefined);
    assert.equal(unknown.status, 404);
    assert.equal(await unknown.text(), "Unknown edge: nope");
    const bad = await post(
      f,
      `/admin/edges/${"x".repeat(65)}/drain`,
      undefined,
    );
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /Invalid edge id/);
  });
});

Deno.test("GET /admin/streams merges every origin's fresh listing from the stream directory", async () => {
  await withControlApp(async (f) => {
    let res = await f.request("/admin/streams", { headers: auth });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { streams: [], origins: [] });
    await f.store.streams.announce(listing("b.example:8090", ["cam1"]));
    await f.store.streams.announce(
      listing("a.example:8090", ["demo", "cam2"]),
    );
    // Stale: older than its ttl at the control's clock.
    await f.store.streams.announce(
      listing("c.example:8090", ["old"], { updatedAtMs: T0 - 7000 }),
    );
    res = await f.request("/admin/streams", { headers: auth });
    const body = await res.json();
    assert.deepEqual(
      body.streams.map((s: { key: string; originId: string }) =>
        `${s.key}@${s.originId}`
      ),
      [
        "live/cam1@b.example:8090",
        "live/cam2@a.example:8090",
        "live/demo@a.example:8090",
      ],
    );
    assert.deepEqual(body.streams[2], {
      key: "live/demo",
      app: "live",
      name: "demo",
      originId: "a.example:8090",
      startedAt: new Date(T0).toISOString(),
      viewers: 2,
      viewersByProtocol: {},
      edgeViewers: {},
      bytesIn: 1000,
      // One listing seen so far: a rate needs two.
      bitrateBps: null,
      sampledAt: new Date(T0).toISOString(),
      codecs: { video: "H264", audio: "AAC" },
      protocol: "rtmp",
      publisher: { address: "", software: "" },
      video: { width: 0, height: 0, fps: 0 },
      access: "open",
      urls: {
        flv: "http://a.example:8090/live/demo.flv",
        hls: "http://a.example:8090/live/demo.m3u8",
        rtmp: "rtmp://a.example:1935/live/demo",
        player: "http://a.example:8090/?stream=live/demo",
        play: "http://a.example:8090/play/live/demo",
      },
    });
    assert.deepEqual(
      body.origins.map((o: { originId: string; streams: number }) => [
        o.originId,
        o.streams,
      ]),
      [["a.example:8090", 2], ["b.example:8090", 1]],
    );
  });
});

Deno.test("GET /admin/config shows the running config with every secret-named key redacted", async () => {
  const secrets = {
    adminToken: "admin-secret-value-0123456789",
    servicePassword: "service-secret-value",
    sessionSecret: "session-secret-value-0123456789abcdef",
    publishKey: "publish-key-secret",
  };
  const config = parseConfig({
    control: {
      adminToken: secrets.adminToken,
      servicePassword: secrets.servicePassword,
      port: 0,
    },
    auth: { sessionSecret: secrets.sessionSecret },
    origin: {
      apps: [{
        name: "live",
        access: "token",
        publishKeys: [secrets.publishKey],
      }],
    },
  });
  await withControlApp(async (f) => {
    const res = await f.request("/admin/config", { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Cache-Control"), "no-store");
    const text = await res.text();
    for (const s of Object.values(secrets)) assert.ok(!text.includes(s), s);
    const { config: shown } = JSON.parse(text);
    assert.equal(shown.control.adminToken, REDACTED);
    assert.equal(shown.control.servicePassword, REDACTED);
    assert.equal(shown.auth.sessionSecret, REDACTED);
    assert.equal(shown.origin.apps[0].publishKeys, REDACTED);
    assert.equal(shown.origin.apps[0].name, "live");
    assert.equal(shown.control.port, 0);
    // Unset secrets stay visibly empty (generated at start-up).
    assert.equal(shown.edge.adminToken, "");
  }, { config });
  await withControlApp(async (f) => {
    const res = await f.request("/admin/config", { headers: auth });
    assert.equal(res.status, 501);
    assert.match(await res.text(), /started without the full config/);
  });
});

Deno.test("GET /admin/streams counts each edge's viewers of a stream from the edges' heartbeats, and links through edge and scheduler", async () => {
  await withControlApp(async (f) => {
    await f.store.streams.announce(listing("a.example:8090", ["demo"]));
    await f.store.edges.register(edge("fra1", {
      baseUrl: "http://fra1.example:8080",
      load: {
        viewers: 5,
        egressBitsPerSecond: 1e6,
        hitRatio: 0.9,
        streams: [
          { key: streamKey("live", "demo"), viewers: 4 },
          { key: streamKey("live", "other"), viewers: 1 },
        ],
      },
    }));
    await f.store.edges.register(edge("sha1", {
      load: { viewers: 0, egressBitsPerSecond: 0, hitRatio: 0 },
    }));
    await f.store.nodes.announce({
      id: "sched:1",
      roles: ["scheduler"],
      version: "dev",
      hostname: "h",
      startedAtMs: T0,
      endpoints: { "scheduler.http": "http://sched.example:8070" },
      cpu: 0,
      rssBytes: 0,
      rates: {},
      updatedAtMs: T0,
      ttlMs: 6000,
    });
    const body = await (await f.request("/admin/streams", { headers: auth }))
      .json();
    const s = body.streams[0];
    assert.deepEqual(s.edgeViewers, { fra1: 4 });
    assert.deepEqual(s.urls.edge, {
      flv: "http://fra1.example:8080/live/demo.flv",
      hls: "http://fra1.example:8080/live/demo.m3u8",
      play: "http://fra1.example:8080/play/live/demo",
    });
    assert.deepEqual(s.urls.scheduler, {
      flv: "http://sched.example:8070/live/demo.flv",
      hls: "http://sched.example:8070/live/demo.m3u8",
    });
    // The steered DNS name of the running config, on the edges' port.
    assert.deepEqual(s.urls.dns, {
      flv: "http://live.cdn.example:8443/live/demo.flv",
      hls: "http://live.cdn.example:8443/live/demo.m3u8",
      play: "http://live.cdn.example:8443/play/live/demo",
    });
  }, {
    config: parseConfig({
      edge: { port: 8443 },
      scheduler: {
        zones: [{
          name: "cdn.example.",
          soa: {
            mname: "ns1.cdn.example.",
            rname: "hostmaster.cdn.example.",
            serial: 1,
            refresh: 3600,
            retry: 600,
            expire: 604800,
            minimum: 60,
            ttl: 3600,
          },
          ns: ["ns1.cdn.example."],
          records: [],
          steered: [{ name: "*.wild" }, { name: "live" }],
        }],
      },
    }),
  });
});
