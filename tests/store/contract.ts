/**
 * The shared-store contract suite: what every {@link SharedStore} backend must do, run unchanged
 * against each (`kv/contract_test.ts`, `redis/contract_test.ts`), like the edge cache stores'
 * and scheduler policies' contract suites. Backend specifics (KV's polling, Redis outages) are
 * tested beside each backend.
 *
 * Each case opens a fresh, empty backend and one or more stores on it: two stores on one
 * backend stand for two nodes sharing it.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type EdgeRecord,
  type EdgeStreamLoad,
  type FeedEntry,
  type FeedEvent,
  MAX_EDGE_STREAMS,
  MAX_NODE_RECORD_BYTES,
  MAX_RESUME_VIDEO_CHARS,
  MAX_RESUME_VIEWER_CHARS,
  type NodeRecord,
  type OriginListing,
  type SharedStore,
  StoreError,
  type TokenRecord,
} from "../../store/mod.ts";
import { waitFor } from "../_helpers/peers.ts";

/** One empty backend, on which stores are opened. */
export interface ContractBackend {
  /** Opens one more store (one more node) on this backend. */
  open(): Promise<SharedStore>;
  /** Removes the backend (files, server data); stores are closed first. */
  cleanup(): Promise<void>;
}

/** How the suite gets a fresh backend for each case. */
export interface ContractFixture {
  /** Makes a fresh, empty backend. */
  setup(): Promise<ContractBackend>;
  /** When set, every case is skipped and this reason printed once. */
  readonly skip?: string;
}

/** How long a feed event may take to reach another store in these tests (ms). */
export const FEED_DEADLINE_MS = 3000;

const T0 = 1_700_000_000_000;

function token(t: string, over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    token: t,
    app: null,
    createdAtMs: T0,
    expiresAtMs: T0 + 3600_000,
    maxUses: 0,
    ...over,
  };
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
    capacityBps: 1e10,
    capacityViewers: 0,
    heartbeatSeconds: 5,
    registeredAtMs: T0,
    updatedAtMs: T0,
    load: { viewers: 0, egressBitsPerSecond: 0, hitRatio: 0 },
    ...patch,
  };
}

function listing(
  originId: string,
  patch: Partial<OriginListing> = {},
): OriginListing {
  return {
    originId,
    httpUrl: `http://${originId}`,
    rtmpUrl: "rtmp://h:1935",
    streams: [{
      app: "live",
      name: "a",
      startedAt: new Date(T0).toISOString(),
      viewers: 1,
      bytesIn: 10,
      codecs: { video: "H264" },
      protocol: "rtmp",
    }],
    omitted: 0,
    updatedAtMs: Date.now(),
    ttlMs: 6000,
    ...patch,
  };
}

function node(id: string, patch: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id,
    roles: ["origin", "control"],
    version: "dev",
    hostname: "host",
    startedAtMs: T0,
    endpoints: { "origin.http": "http://127.0.0.1:8090" },
    cpu: 0.25,
    rssBytes: 100_000_000,
    rates: { dnsQueriesPerSecond: 0 },
    updatedAtMs: Date.now(),
    ttlMs: 6000,
    ...patch,
  };
}

/**
 * A token valid for an hour from now by the wall clock: stores drop remembered revocations of
 * tokens long expired by their own clock, so revocation checks use real time.
 */
function liveToken(t: string): TokenRecord {
  const now = Date.now();
  return token(t, { createdAtMs: now, expiresAtMs: now + 3600_000 });
}

const purge = (url: string): FeedEvent => ({
  kind: "purge",
  urls: [url],
  prefixes: [],
  streams: [],
  all: false,
});

/**
 * Registers the contract cases for one backend.
 *
 * @param name Shown in each test name, e.g. `KvStore`.
 */
export function runSharedStoreContract(
  name: string,
  fixture: ContractFixture,
): void {
  if (fixture.skip) {
    console.log(`${name} contract: skipped: ${fixture.skip}`);
  }
  const test = (
    what: string,
    fn: (open: () => Promise<SharedStore>) => Promise<void>,
  ) =>
    Deno.test({
      name: `${name} contract: ${what}`,
      ignore: fixture.skip !== undefined,
      async fn() {
        const backend = await fixture.setup();
        const opened: SharedStore[] = [];
        try {
          await fn(async () => {
            const s = await backend.open();
            opened.push(s);
            return s;
          });
        } finally {
          for (const s of opened.reverse()) await s.close();
          await backend.cleanup();
        }
      },
    });

  // --- tokens ---------------------------------------------------------------------------

  test("createToken() stores a record that getToken() reads back, from any store", async (open) => {
    const [a, b] = [await open(), await open()];
    await a.createToken(token("AAAAAAAAAAAAAAA1", { app: "live" }));
    const want = {
      ...token("AAAAAAAAAAAAAAA1", { app: "live" }),
      usesSpent: 0,
    };
    assert.deepEqual(await a.getToken("AAAAAAAAAAAAAAA1"), want);
    assert.deepEqual(await b.getToken("AAAAAAAAAAAAAAA1"), want);
    assert.equal(await b.getToken("AAAAAAAAAAAAAAA2"), undefined);
  });

  test("createToken() refuses a value already taken, without naming it", async (open) => {
    const [a, b] = [await open(), await open()];
    await a.createToken(token("AAAAAAAAAAAAAAA1"));
    await assert.rejects(
      b.createToken(token("AAAAAAAAAAAAAAA1", { maxUses: 9 })),
      (e: unknown) =>
        e instanceof StoreError && e.code === "STORE_TOKEN_EXISTS" &&
        !e.message.includes("AAAAAAAAAAAAAAA1"),
    );
    assert.equal((await a.getToken("AAAAAAAAAAAAAAA1"))?.maxUses, 0);
  });

  test("spendTokenUse() counts uses and refuses once they are spent", async (open) => {
    const store = await open();
    await store.createToken(token("LIMITED000000003", { maxUses: 3 }));
    for (let i = 1; i <= 3; i++) {
      const r = await store.spendTokenUse("LIMITED000000003", T0);
      assert.ok(r.ok);
      assert.equal(r.state.usesSpent, i);
      assert.equal(r.state.maxUses, 3);
    }
    assert.deepEqual(await store.spendTokenUse("LIMITED000000003", T0), {
      ok: false,
      reason: "used_up",
    });
    assert.equal((await store.getToken("LIMITED000000003"))?.usesSpent, 3);
  });

  test("spendTokenUse() of an unlimited token (maxUses 0) never runs out", async (open) => {
    const store = await open();
    await store.createToken(token("UNLIMITED0000000"));
    for (let i = 1; i <= 20; i++) {
      const r = await store.spendTokenUse("UNLIMITED0000000", T0);
      assert.ok(r.ok && r.state.usesSpent === i);
    }
  });

  test("spendTokenUse() refuses at and after the expiry instant", async (open) => {
    const store = await open();
    await store.createToken(
      token("EXPIRING00000001", { expiresAtMs: T0 + 1000 }),
    );
    assert.ok((await store.spendTokenUse("EXPIRING00000001", T0 + 999)).ok);
    assert.deepEqual(await store.spendTokenUse("EXPIRING00000001", T0 + 1000), {
      ok: false,
      reason: "expired",
    });
    assert.equal((await store.getToken("EXPIRING00000001"))?.usesSpent, 1);
  });

  test("spendTokenUse() refuses another app and unknown tokens without spending", async (open) => {
    const store = await open();
    await store.createToken(
      token("SCOPED0000000001", { app: "live", maxUses: 1 }),
    );
    assert.deepEqual(await store.spendTokenUse("SCOPED0000000001", T0, "vod"), {
      ok: false,
      reason: "wrong_app",
    });
    assert.equal((await store.getToken("SCOPED0000000001"))?.usesSpent, 0);
    assert.ok((await store.spendTokenUse("SCOPED0000000001", T0, "live")).ok);
    assert.deepEqual(await store.spendTokenUse("NOSUCHTOKEN00001", T0), {
      ok: false,
      reason: "unknown",
    });
  });

  test("spendTokenUse() never over-spends under concurrency from two stores", async (open) => {
    const [a, b] = [await open(), await open()];
    await a.createToken(token("RACE000000000005", { maxUses: 5 }));
    const results = await Promise.all(
      Array.from(
        { length: 30 },
        (_, i) => (i % 2 ? a : b).spendTokenUse("RACE000000000005", T0),
      ),
    );
    assert.equal(results.filter((r) => r.ok).length, 5);
    const counts = results.flatMap((r) => r.ok ? [r.state.usesSpent] : []);
    assert.deepEqual(counts.sort((x, y) => x - y), [1, 2, 3, 4, 5]);
    assert.ok(
      results.every((r) => r.ok || r.reason === "used_up"),
      JSON.stringify(results),
    );
    assert.equal((await b.getToken("RACE000000000005"))?.usesSpent, 5);
  });

  test("revokeToken() deletes, is remembered in memory, and answers false when unknown", async (open) => {
    const store = await open();
    await store.createToken(token("REVOKE0000000001"));
    assert.equal(store.isRevoked("REVOKE0000000001"), false);
    assert.equal(await store.revokeToken("REVOKE0000000001", T0), true);
    // Effective in the revoking store at once, not after a feed round trip.
    assert.equal(store.isRevoked("REVOKE0000000001"), true);
    assert.equal(await store.getToken("REVOKE0000000001"), undefined);
    assert.deepEqual(await store.spendTokenUse("REVOKE0000000001", T0), {
      ok: false,
      reason: "revoked",
    });
    assert.equal(await store.revokeToken("REVOKE0000000001", T0), false);
    assert.equal(await store.revokeToken("NOSUCHTOKEN00001", T0), false);
    assert.equal(store.isRevoked("NOSUCHTOKEN00001"), false);
  });

  test("listTokens() lists every token with its use count", async (open) => {
    const [a, b] = [await open(), await open()];
    await a.createToken(token("LIST000000000001"));
    await a.createToken(token("LIST000000000002", { maxUses: 2 }));
    await b.createToken(token("LIST000000000003", { app: "live" }));
    await a.spendTokenUse("LIST000000000002", T0);
    await b.revokeToken("LIST000000000003", T0);
    const list = (await b.listTokens()).sort((x, y) =>
      x.token.localeCompare(y.token)
    );
    assert.deepEqual(list, [
      { ...token("LIST000000000001"), usesSpent: 0 },
      { ...token("LIST000000000002", { maxUses: 2 }), usesSpent: 1 },
    ]);
  });

  // --- the change feed ------------------------------------------------------------------

  test("a revocation reaches another store's isRevoked() and its listeners", async (open) => {
    const [a, b] = [await open(), await open()];
    const seen: FeedEntry[] = [];
    b.subscribe((e) => seen.push(e));
    const rec = liveToken("FEED000000000001");
    await a.createToken(rec);
    assert.equal(b.isRevoked("FEED000000000001"), false);
    assert.equal(await a.revokeToken("FEED000000000001", Date.now()), true);
    await waitFor(
      "revocation in the second store",
      () => b.isRevoked("FEED000000000001"),
      FEED_DEADLINE_MS,
    );
    await waitFor(
      "revocation event",
      () => seen.length === 1,
      FEED_DEADLINE_MS,
    );
    assert.deepEqual(seen[0]?.event, {
      kind: "token.revoked",
      token: "FEED000000000001",
      expiresAtMs: rec.expiresAtMs,
    });
  });

  test("events arrive in publish order at every store, own ones included", async (open) => {
    const [a, b] = [await open(), await open()];
    const seenA: FeedEntry[] = [];
    const seenB: FeedEntry[] = [];
    a.subscribe((e) => seenA.push(e));
    b.subscribe((e) => seenB.push(e));
    const urls = ["/a", "/b", "/c", "/d", "/e", "/f"];
    for (const [i, url] of urls.entries()) {
      await (i % 2 ? b : a).publish(purge(url));
    }
    // Concurrent publishers too: all arrive, every store sees one order.
    await Promise.all(
      ["/x1", "/x2", "/x3"].map((u, i) => (i % 2 ? a : b).publish(purge(u))),
    );
    const total = urls.length + 3;
    await waitFor(
      "every event at b",
      () => seenB.length === total,
      FEED_DEADLINE_MS,
    );
    await waitFor(
      "every event at a",
      () => seenA.length === total,
      FEED_DEADLINE_MS,
    );
    const urlsOf = (s: FeedEntry[]) =>
      s.map((e) => e.event.kind === "purge" ? e.event.urls.join() : "?");
    assert.deepEqual(urlsOf(seenA).slice(0, urls.length), urls);
    assert.deepEqual(urlsOf(seenA), urlsOf(seenB));
    for (const seen of [seenA, seenB]) {
      for (let i = 1; i < seen.length; i++) {
        assert.ok(seen[i]!.seq > seen[i - 1]!.seq, "seq strictly increases");
      }
    }
    assert.deepEqual(seenA.map((e) => e.seq), seenB.map((e) => e.seq));
  });

  test("every kind of event round-trips through the feed unchanged", async (open) => {
    const [a, b] = [await open(), await open()];
    const seen: FeedEntry[] = [];
    b.subscribe((e) => seen.push(e));
    const events: FeedEvent[] = [
      { kind: "prefetch", urls: ["/live/a.m3u8", "/vod/x.mp4"] },
      {
        kind: "purge",
        urls: ["/u"],
        prefixes: ["/live/"],
        streams: ["live/a"],
        all: true,
        sourceId: "edge@h:8080",
      },
      { kind: "edge.registered", edgeId: "fra1" },
      { kind: "edge.deregistered", edgeId: "fra1" },
      { kind: "edge.drain", edgeId: "fra1", draining: true },
      {
        kind: "token.revoked",
        token: "NOTMINTED0000001",
        expiresAtMs: Date.now() + 60_000,
      },
    ];
    for (const e of events) await a.publish(e);
    await waitFor(
      "all events",
      () => seen.length === events.length,
      FEED_DEADLINE_MS,
    );
    assert.deepEqual(seen.map((e) => e.event), events);
    // A revocation event published directly is honoured by the in-memory check too.
    assert.equal(b.isRevoked("NOTMINTED0000001"), true);
  });

  test("subscribe() delivers only what is published after the store opened; unsubscribe stops it", async (open) => {
    const a = await open();
    await a.publish(purge("/before"));
    const b = await open();
    const seen: string[] = [];
    const off = b.subscribe((e) =>
      seen.push(e.event.kind === "purge" ? e.event.urls.join() : "?")
    );
    const later: string[] = [];
    b.subscribe((e) => later.push(e.event.kind));
    await a.publish(purge("/after"));
    await waitFor(
      "event after open",
      () => seen.length >= 1,
      FEED_DEADLINE_MS,
    );
    assert.deepEqual(seen, ["/after"]);
    off();
    await a.publish(purge("/unsubscribed"));
    await waitFor(
      "the other listener",
      () => later.length === 2,
      FEED_DEADLINE_MS,
    );
    assert.deepEqual(seen, ["/after"]);
  });

  test("a listener that throws does not stop the feed for the others", async (open) => {
    const [a, b] = [await open(), await open()];
    const seen: string[] = [];
    b.subscribe(() => {
      throw new Error("listener bug");
    });
    b.subscribe((e) => seen.push(e.event.kind));
    await a.publish(purge("/1"));
    await a.publish({ kind: "edge.registered", edgeId: "x" });
    await waitFor("both events", () => seen.length === 2, FEED_DEADLINE_MS);
    assert.deepEqual(seen, ["purge", "edge.registered"]);
  });

  test("requestPollInterval() returns a release; delivery goes on either way", async (open) => {
    const [a, b] = [await open(), await open()];
    const seen: FeedEntry[] = [];
    b.subscribe((e) => seen.push(e));
    const release = b.requestPollInterval(20);
    await a.publish(purge("/fast"));
    await waitFor(
      "event while requested",
      () => seen.length === 1,
      FEED_DEADLINE_MS,
    );
    release();
    release(); // idempotent
    await a.publish(purge("/released"));
    await waitFor(
      "event after release",
      () => seen.length === 2,
      FEED_DEADLINE_MS,
    );
  });

  test("a store opened later knows revocations made before it opened", async (open) => {
    const a = await open();
    await a.createToken(liveToken("EARLY00000000001"));
    await a.revokeToken("EARLY00000000001", Date.now());
    await a.close();
    const b = await open();
    assert.equal(b.isRevoked("EARLY00000000001"), true);
    assert.equal(b.isRevoked("EARLY00000000002"), false);
  });

  test("ensureSecret() gives every store the first secret written", async (open) => {
    const [a, b] = [await open(), await open()];
    const [x, y] = await Promise.all([
      a.ensureSecret("session", () => "from-a"),
      b.ensureSecret("session", () => "from-b"),
    ]);
    assert.equal(x, y);
    assert.ok(x === "from-a" || x === "from-b");
    assert.equal(await b.ensureSecret("session", () => "later"), x);
    assert.equal(await a.ensureSecret("other", () => "second"), "second");
  });

  test("health() reports the backend reachable while it answers", async (open) => {
    const store = await open();
    await store.getToken("AAAAAAAAAAAAAAA1");
    const h = store.health();
    assert.equal(h.up, true);
    assert.equal(h.outages, 0);
    assert.equal(h.lastError, "");
    assert.ok(h.backend === "kv" || h.backend === "redis");
    assert.ok(h.sinceMs > 0 && h.sinceMs <= Date.now());
  });

  test("calls after close() fail with STORE_CLOSED; close() is idempotent", async (open) => {
    const store = await open();
    await store.close();
    await store.close();
    await assert.rejects(
      store.getToken("AAAAAAAAAAAAAAA1"),
      (e: unknown) => e instanceof StoreError && e.code === "STORE_CLOSED",
    );
    await assert.rejects(
      store.publish(purge("/x")),
      (e: unknown) => e instanceof StoreError && e.code === "STORE_CLOSED",
    );
    await assert.rejects(
      store.edges.snapshot(T0),
      (e: unknown) => e instanceof StoreError && e.code === "STORE_CLOSED",
    );
  });

  // --- the edge registry ----------------------------------------------------------------

  test("edges: a registration is read by another store and announced on its feed", async (open) => {
    const [a, b] = [await open(), await open()];
    const seen: FeedEntry[] = [];
    b.subscribe((e) => seen.push(e));
    await a.edges.register(edge("fra1"));
    await a.edges.register(edge("ams1", { address: "192.0.2.2" }));
    const snap = await b.edges.snapshot(T0 + 1000);
    assert.deepEqual(snap.edges.map((e) => e.id), ["ams1", "fra1"]);
    assert.deepEqual(snap.edges[1], edge("fra1"));
    await waitFor(
      "registrations on the feed",
      () => seen.length === 2,
      FEED_DEADLINE_MS,
    );
    assert.deepEqual(seen.map((e) => e.event), [
      { kind: "edge.registered", edgeId: "fra1" },
      { kind: "edge.registered", edgeId: "ams1" },
    ]);
    // A heartbeat replaces the record; a deregistration deletes and announces it.
    await a.edges.heartbeat(edge("fra1", {
      updatedAtMs: T0 + 4000,
      load: { viewers: 3, egressBitsPerSecond: 1e6, hitRatio: 0.5 },
    }));
    const fra = (await b.edges.snapshot(T0 + 5000)).edges.find((e) =>
      e.id === "fra1"
    );
    assert.equal(fra?.load.viewers, 3);
    await a.edges.deregister("ams1");
    assert.deepEqual(
      (await b.edges.snapshot(T0 + 5000)).edges.map((e) => e.id),
      ["fra1"],
    );
    await waitFor(
      "deregistration on the feed",
      () => seen.length === 3,
      FEED_DEADLINE_MS,
    );
    assert.deepEqual(seen[2]!.event, {
      kind: "edge.deregistered",
      edgeId: "ams1",
    });
  });

  test("edges: a heartbeat's streams are carried, bounded to the busiest MAX_EDGE_STREAMS", async (open) => {
    const [a, b] = [await open(), await open()];
    const key = (i: number) => i.toString(16).padStart(16, "0");
    await a.edges.register(edge("fra1", {
      load: {
        viewers: 7,
        egressBitsPerSecond: 0,
        hitRatio: 0,
        streams: [{ key: key(1), viewers: 5 }, { key: key(2), viewers: 2 }],
      },
    }));
    let fra = (await b.edges.snapshot(T0 + 1000)).edges[0]!;
    assert.deepEqual(fra.load.streams, [
      { key: key(1), viewers: 5 },
      { key: key(2), viewers: 2 },
    ]);
    // A heartbeat claiming thousands (and junk) is stored bounded, busiest first.
    const claimed = Array.from(
      { length: 5000 },
      (_, i) => ({ key: key(i), viewers: i % 1000 }),
    );
    await a.edges.heartbeat(edge("fra1", {
      updatedAtMs: T0 + 2000,
      load: {
        viewers: 9,
        egressBitsPerSecond: 0,
        hitRatio: 0,
        streams: [
          ...claimed,
          { key: "not-a-key", viewers: 1e6 },
          { key: key(9), viewers: -4 },
        ] as EdgeStreamLoad[],
      },
    }));
    fra = (await b.edges.snapshot(T0 + 3000)).edges[0]!;
    const streams = fra.load.streams ?? [];
    assert.equal(streams.length, MAX_EDGE_STREAMS);
    assert.equal(streams[0]!.viewers, 999);
    assert.ok(streams.every((s) => /^[0-9a-f]{16}$/.test(s.key)));
    assert.ok(
      streams.every((s, i) => i === 0 || streams[i - 1]!.viewers >= s.viewers),
    );
    // An edge reporting none has no list.
    await a.edges.heartbeat(edge("fra1", { updatedAtMs: T0 + 4000 }));
    fra = (await b.edges.snapshot(T0 + 4000)).edges[0]!;
    assert.equal(fra.load.streams, undefined);
  });

  test("edges: snapshot() leaves out an edge whose heartbeats stopped", async (open) => {
    const store = await open();
    await store.edges.register(edge("fra1", { heartbeatSeconds: 1 }));
    assert.equal((await store.edges.snapshot(T0 + 3000)).edges.length, 1);
    assert.equal((await store.edges.snapshot(T0 + 3001)).edges.length, 0);
    await store.edges.heartbeat(
      edge("fra1", { heartbeatSeconds: 1, updatedAtMs: T0 + 3000 }),
    );
    assert.equal((await store.edges.snapshot(T0 + 3001)).edges.length, 1);
  });

  test("edges: setDraining() is shared, survives re-registration and is announced", async (open) => {
    const [a, b] = [await open(), await open()];
    const seen: FeedEntry[] = [];
    b.subscribe((e) => seen.push(e));
    await a.edges.register(edge("fra1"));
    await a.edges.setDraining("fra1", true, T0 + 10);
    assert.deepEqual([...(await b.edges.snapshot(T0)).drains], [[
      "fra1",
      T0 + 10,
    ]]);
    // The flag is the operator's, apart from the record: a restart keeps the edge drained.
    await a.edges.deregister("fra1");
    await a.edges.register(edge("fra1"));
    assert.equal((await b.edges.snapshot(T0)).drains.has("fra1"), true);
    await b.edges.setDraining("fra1", false, T0 + 20);
    assert.equal((await a.edges.snapshot(T0)).drains.size, 0);
    const drains = () => seen.filter((e) => e.event.kind === "edge.drain");
    await waitFor(
      "drain events",
      () => drains().length === 2,
      FEED_DEADLINE_MS,
    );
    assert.deepEqual(drains().map((e) => e.event), [
      { kind: "edge.drain", edgeId: "fra1", draining: true },
      { kind: "edge.drain", edgeId: "fra1", draining: false },
    ]);
  });

  test("edges: reportHealth() keeps one view per scheduler and edge until its ttl", async (open) => {
    const [a, b] = [await open(), await open()];
    await a.edges.reportHealth(
      "s1",
      [
        { edgeId: "fra1", up: true, lastError: "" },
        { edgeId: "ams1", up: false, lastError: "connection refused" },
      ],
      T0,
      3000,
    );
    await b.edges.reportHealth(
      "s2",
      [
        { edgeId: "fra1", up: false, lastError: "x".repeat(500) },
      ],
      T0 + 1000,
      3000,
    );
    // s1 again: replaces its own view, never s2's.
    await a.edges.reportHealth(
      "s1",
      [
        { edgeId: "fra1", up: true, lastError: "" },
      ],
      T0 + 2000,
      3000,
    );
    const views = (await b.edges.snapshot(T0 + 3500)).health;
    assert.deepEqual(
      views.map((v) => `${v.edgeId}/${v.schedulerId}=${v.up}`).sort(),
      ["fra1/s1=true", "fra1/s2=false"],
      "ams1/s1 (written at T0, ttl 3 s) is stale",
    );
    const s2 = views.find((v) => v.schedulerId === "s2")!;
    assert.deepEqual(s2, {
      edgeId: "fra1",
      schedulerId: "s2",
      up: false,
      lastError: "x".repeat(200),
      reportedAtMs: T0 + 1000,
      ttlMs: 3000,
    });
    // Many edges in one report (past one KV commit's 500 mutations).
    const many = Array.from({ length: 1200 }, (_, i) => ({
      edgeId: `e${i}`,
      up: i % 3 !== 0,
      lastError: "",
    }));
    await a.edges.reportHealth("s3", many, T0 + 3000, 3000);
    const s3 = (await b.edges.snapshot(T0 + 3000)).health.filter((v) =>
      v.schedulerId === "s3"
    );
    assert.equal(s3.length, 1200);
    assert.equal(s3.filter((v) => v.up).length, 800);
  });

  // --- the stream directory -------------------------------------------------------------

  test("streams: a listing is read by another store, dropped when withdrawn or stale", async (open) => {
    const [a, b] = [await open(), await open()];
    const now = Date.now();
    await a.streams.announce(listing("o2:8090", { updatedAtMs: now }));
    await a.streams.announce(listing("o1:8090", { updatedAtMs: now }));
    await a.streams.announce(listing("o3:8090", { updatedAtMs: now - 10_000 }));
    assert.deepEqual((await b.streams.list(now)).map((l) => l.originId), [
      "o1:8090",
      "o2:8090",
    ]);
    assert.deepEqual(
      (await b.streams.list(now))[0],
      listing("o1:8090", { updatedAtMs: now }),
    );
    // A new announcement replaces the old one.
    await a.streams.announce(
      listing("o2:8090", { updatedAtMs: now, streams: [] }),
    );
    assert.deepEqual(
      (await b.streams.list(now)).find((l) => l.originId === "o2:8090")
        ?.streams,
      [],
    );
    await b.streams.withdraw("o1:8090");
    assert.deepEqual((await a.streams.list(now)).map((l) => l.originId), [
      "o2:8090",
    ]);
    // Past its ttl a listing is gone, whether or not the backend has expired the key yet.
    assert.deepEqual(await a.streams.list(now + 6001), []);
  });

  // --- the node directory ---------------------------------------------------------------

  test("nodes: a record is read by another store, replaced, dropped when withdrawn or stale", async (open) => {
    const [a, b] = [await open(), await open()];
    const now = Date.now();
    await a.nodes.announce(node("host-b:1", { updatedAtMs: now }));
    await a.nodes.announce(node("host-a:1", { updatedAtMs: now }));
    await a.nodes.announce(node("host-c:1", { updatedAtMs: now - 10_000 }));
    assert.deepEqual((await b.nodes.list(now)).map((n) => n.id), [
      "host-a:1",
      "host-b:1",
    ]);
    assert.deepEqual(
      (await b.nodes.list(now))[0],
      node("host-a:1", { updatedAtMs: now }),
    );
    await a.nodes.announce(
      node("host-b:1", { updatedAtMs: now, rssBytes: 42 }),
    );
    assert.equal(
      (await b.nodes.list(now)).find((n) => n.id === "host-b:1")?.rssBytes,
      42,
    );
    await b.nodes.withdraw("host-a:1");
    assert.deepEqual((await a.nodes.list(now)).map((n) => n.id), ["host-b:1"]);
    assert.deepEqual(await a.nodes.list(now + 6001), []);
  });

  test("nodes: a bad id or an oversized record is refused and nothing is written", async (open) => {
    const a = await open();
    const now = Date.now();
    for (const id of ["", "a b", "x".repeat(129), "a/b"]) {
      await assert.rejects(
        a.nodes.announce(node(id, { updatedAtMs: now })),
        (e: unknown) => e instanceof StoreError && e.code === "STORE_BAD_VALUE",
      );
    }
    const big = node("big", {
      updatedAtMs: now,
      endpoints: { x: "y".repeat(MAX_NODE_RECORD_BYTES) },
    });
    await assert.rejects(
      a.nodes.announce(big),
      (e: unknown) => e instanceof StoreError && e.code === "STORE_BAD_VALUE",
    );
    assert.deepEqual(await a.nodes.list(now), []);
  });

  // --- resume positions -----------------------------------------------------------------

  test("resume: a position written by one store is read by another, replaced and deleted", async (open) => {
    const [a, b] = [await open(), await open()];
    const p = { positionSeconds: 61.5, durationSeconds: 120, updatedAtMs: T0 };
    assert.equal(await b.resume.get("viewer-1", "vod/a.mp4"), undefined);
    await a.resume.set("viewer-1", "vod/a.mp4", p);
    assert.deepEqual(await b.resume.get("viewer-1", "vod/a.mp4"), p);
    // Keyed by both parts: another viewer or video sees nothing.
    assert.equal(await b.resume.get("viewer-2", "vod/a.mp4"), undefined);
    assert.equal(await b.resume.get("viewer-1", "vod/b.mp4"), undefined);
    // A viewer id that looks like a key separator cannot reach another pair.
    await a.resume.set('v",["x', "y", p);
    assert.equal(await b.resume.get("v", '["x",["y'), undefined);
    await b.resume.set("viewer-1", "vod/a.mp4", { ...p, positionSeconds: 90 });
    assert.equal(
      (await a.resume.get("viewer-1", "vod/a.mp4"))?.positionSeconds,
      90,
    );
    await a.resume.delete("viewer-1", "vod/a.mp4");
    assert.equal(await b.resume.get("viewer-1", "vod/a.mp4"), undefined);
  });

  test("resume: ids and keys over their limits and bad numbers are refused, nothing written", async (open) => {
    const a = await open();
    const p = { positionSeconds: 1, durationSeconds: 2, updatedAtMs: T0 };
    const isBad = (e: unknown) =>
      e instanceof StoreError && e.code === "STORE_BAD_VALUE";
    const longViewer = "v".repeat(MAX_RESUME_VIEWER_CHARS + 1);
    const longVideo = "k".repeat(MAX_RESUME_VIDEO_CHARS + 1);
    await assert.rejects(a.resume.set(longViewer, "k", p), isBad);
    await assert.rejects(a.resume.set("", "k", p), isBad);
    await assert.rejects(a.resume.set("v", longVideo, p), isBad);
    await assert.rejects(a.resume.get(longViewer, "k"), isBad);
    for (const bad of [NaN, -1, Infinity]) {
      await assert.rejects(
        a.resume.set("v", "k", { ...p, positionSeconds: bad }),
        isBad,
      );
    }
    assert.equal(await a.resume.get("v", "k"), undefined);
    // At the limits exactly, it works.
    const maxViewer = "v".repeat(MAX_RESUME_VIEWER_CHARS);
    const maxVideo = "k".repeat(MAX_RESUME_VIDEO_CHARS);
    await a.resume.set(maxViewer, maxVideo, p);
    assert.deepEqual(await a.resume.get(maxViewer, maxVideo), p);
  });
}
