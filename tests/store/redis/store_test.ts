/**
 * What the Redis backend does beyond the contract: Redis expires edge records itself, and a
 * node that loses Redis keeps answering from memory, says so once (health, metric, log) and
 * catches up the feed when Redis is back.
 *
 * @module
 */

import assert from "node:assert/strict";
import { silentLogger } from "../../../log/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import {
  type EdgeRecord,
  type FeedEntry,
  registerStoreMetrics,
  StoreError,
  type TokenRecord,
} from "../../../store/mod.ts";
import { openRedisStore, RedisStore } from "../../../store/redis/mod.ts";
import { waitFor } from "../../_helpers/peers.ts";
import { REDIS_SKIP, RedisServer } from "./_redis_server.ts";
import { TcpRelay } from "./_tcp_relay.ts";

const ignore = REDIS_SKIP !== undefined;
if (REDIS_SKIP) console.log(`RedisStore tests skipped: ${REDIS_SKIP}`);

/** Deadline of anything that waits on a reconnect (ms). */
const RECONNECT_DEADLINE_MS = 10_000;

function liveToken(token: string): TokenRecord {
  const now = Date.now();
  return {
    token,
    app: null,
    createdAtMs: now,
    expiresAtMs: now + 3600_000,
    maxUses: 0,
  };
}

function edge(id: string, patch: Partial<EdgeRecord> = {}): EdgeRecord {
  const now = Date.now();
  return {
    id,
    region: "eu",
    latitude: 50,
    longitude: 8,
    address: "192.0.2.1",
    address6: "",
    baseUrl: "http://127.0.0.1:8080",
    capacityBps: 0,
    capacityViewers: 0,
    heartbeatSeconds: 5,
    registeredAtMs: now,
    updatedAtMs: now,
    load: { viewers: 0, egressBitsPerSecond: 0, hitRatio: 0 },
    ...patch,
  };
}

/** A logger that keeps warn/info messages. */
function recordingLog() {
  const lines: string[] = [];
  const log = {
    ...silentLogger,
    info: (msg: string) => void lines.push(`info ${msg}`),
    warn: (msg: string) => void lines.push(`warn ${msg}`),
    child: () => log,
  };
  return { log, lines };
}

Deno.test({
  name:
    "RedisStore: Redis itself drops an edge record after its missed heartbeats (TTL)",
  ignore,
  async fn() {
    const server = await RedisServer.start();
    const store = await openRedisStore(server.url);
    try {
      const now = Date.now();
      // 0.1 s heartbeats: the key's TTL is 3 beats (0.3 s).
      await store.edges.register(edge("gone1", { heartbeatSeconds: 0.1 }));
      await store.edges.register(edge("kept1", { heartbeatSeconds: 60 }));
      // Read with a clock that keeps both fresh: only Redis's own expiry can remove one.
      const ids = async () =>
        (await store.edges.snapshot(now)).edges.map((e) => e.id);
      assert.deepEqual(await ids(), ["gone1", "kept1"]);
      const deadline = Date.now() + 3000;
      while ((await ids()).includes("gone1")) {
        assert.ok(Date.now() < deadline, "record still stored after 3 s");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(await ids(), ["kept1"]);
    } finally {
      await store.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "RedisStore: Redis killed and restarted on its port; the node answers from memory, reports it once, and catches up what was published while it was away",
  ignore,
  async fn() {
    // Append-only with fsync: the restarted Redis has what the killed one had, as a
    // production Redis would.
    const server = await RedisServer.start({ persist: true });
    // The observed node reaches Redis through a relay, so it can be kept away after the restart
    // while the other node already publishes again.
    const relay = new TcpRelay(server.port);
    const { log, lines } = recordingLog();
    const metrics = new MetricsRegistry();
    const node = await openRedisStore(`redis://127.0.0.1:${relay.port}`, {
      log,
      maxReconnectDelayMs: 100,
      commandTimeoutMs: 2000,
    });
    registerStoreMetrics(metrics, node);
    const writer = await openRedisStore(server.url, {
      maxReconnectDelayMs: 100,
    });
    try {
      const seen: FeedEntry[] = [];
      node.subscribe((e) => seen.push(e));
      await writer.createToken(liveToken("BEFOREOUTAGE0001"));
      await writer.revokeToken("BEFOREOUTAGE0001", Date.now());
      await writer.createToken(liveToken("DURINGOUTAGE0001"));
      await waitFor(
        "revocation before the outage",
        () => node.isRevoked("BEFOREOUTAGE0001"),
        3000,
      );
      assert.equal(node.health().up, true);
      assert.match(metrics.render(), /meridian_store_up\{backend="redis"\} 1/);

      await server.kill();
      await waitFor(
        "node sees the outage",
        () => !node.health().up,
        RECONNECT_DEADLINE_MS,
      );
      // Memory answers go on; calls that need Redis fail at once and change nothing.
      assert.equal(node.isRevoked("BEFOREOUTAGE0001"), true);
      const t0 = performance.now();
      await assert.rejects(
        node.spendTokenUse("DURINGOUTAGE0001", Date.now()),
        (e: unknown) =>
          e instanceof StoreError && e.code === "STORE_UNAVAILABLE",
      );
      assert.ok(
        performance.now() - t0 < 1000,
        "failed fast, not after a timeout",
      );
      assert.match(metrics.render(), /meridian_store_up\{backend="redis"\} 0/);
      assert.match(
        metrics.render(),
        /meridian_store_outages_total\{backend="redis"\} 1/,
      );
      assert.equal(node.health().outages, 1);
      assert.notEqual(node.health().lastError, "");

      // Redis is back, but this node is still cut off from it: the writer publishes meanwhile.
      relay.cut();
      await server.restart();
      await waitFor(
        "writer reconnected",
        () => writer.health().up,
        RECONNECT_DEADLINE_MS,
      );
      await writer.revokeToken("DURINGOUTAGE0001", Date.now());
      await writer.publish({
        kind: "purge",
        urls: ["/while-away"],
        prefixes: [],
        streams: [],
        all: false,
      });
      await writer.edges.register(edge("fra1"));
      // Several reconnect attempts fail while cut off: still one warning.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(node.health().up, false, "the node was really away");
      assert.equal(node.isRevoked("DURINGOUTAGE0001"), false);

      relay.restore();
      await waitFor(
        "node reconnected",
        () => node.health().up,
        RECONNECT_DEADLINE_MS,
      );
      await waitFor(
        "feed caught up",
        () => seen.some((e) => e.event.kind === "edge.registered"),
        RECONNECT_DEADLINE_MS,
      );
      assert.equal(node.isRevoked("DURINGOUTAGE0001"), true);
      assert.deepEqual(
        seen.map((e) => e.event.kind),
        ["token.revoked", "token.revoked", "purge", "edge.registered"],
      );
      // Gap-free: nothing published while away was skipped.
      assert.deepEqual(seen.map((e) => e.seq), [1, 2, 3, 4]);
      assert.deepEqual(
        (await node.edges.snapshot(Date.now())).edges.map((e) => e.id),
        ["fra1"],
      );
      assert.deepEqual(
        lines.filter((l) => l.includes("shared store")),
        [
          "warn shared store unreachable; serving from memory",
          "info shared store reachable again; catching up",
        ],
      );
      assert.match(metrics.render(), /meridian_store_up\{backend="redis"\} 1/);
    } finally {
      await writer.close();
      await node.close();
      await relay.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "RedisStore: after a restart that lost Redis's data, revocations stay known and the new feed is delivered",
  ignore,
  async fn() {
    const server = await RedisServer.start(); // no persistence: a restart empties it
    const node = await openRedisStore(server.url, {
      maxReconnectDelayMs: 100,
    });
    const writer = await openRedisStore(server.url, {
      maxReconnectDelayMs: 100,
    });
    try {
      const seen: FeedEntry[] = [];
      node.subscribe((e) => seen.push(e));
      await writer.createToken(liveToken("LOSTDATA00000001"));
      await writer.revokeToken("LOSTDATA00000001", Date.now());
      await writer.publish({ kind: "edge.registered", edgeId: "a" });
      await waitFor("two events", () => seen.length === 2, 3000);
      await server.kill();
      await waitFor(
        "outage seen",
        () => !node.health().up,
        RECONNECT_DEADLINE_MS,
      );
      await server.restart();
      await waitFor(
        "both back",
        () => node.health().up && writer.health().up,
        RECONNECT_DEADLINE_MS,
      );
      await writer.publish({ kind: "edge.registered", edgeId: "after-reset" });
      await waitFor(
        "event after the reset",
        () => seen.length === 3,
        RECONNECT_DEADLINE_MS,
      );
      assert.deepEqual(seen[2]!.event, {
        kind: "edge.registered",
        edgeId: "after-reset",
      });
      // Redis forgot the tombstone; the node did not.
      assert.equal(node.isRevoked("LOSTDATA00000001"), true);
    } finally {
      await writer.close();
      await node.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "RedisStore.open() fails with STORE_OPEN_FAILED, password hidden, when Redis is unreachable",
  ignore,
  async fn() {
    const server = await RedisServer.start({ password: "s3cret-pass" });
    const port = server.port;
    try {
      // Wrong password: the server refuses.
      await assert.rejects(
        openRedisStore(`redis://:wrong-pass@127.0.0.1:${port}`),
        (e: unknown) =>
          e instanceof StoreError && e.code === "STORE_OPEN_FAILED" &&
          !e.message.includes("wrong-pass") &&
          e.message.includes(`127.0.0.1:${port}`),
      );
      const ok = await openRedisStore(server.url);
      await ok.createToken(liveToken("PASSWORDED000001"));
      await ok.close();
    } finally {
      await server.stop();
    }
    // Nothing listens there any more.
    await assert.rejects(
      RedisStore.open({ host: "127.0.0.1", port }, {
        connectTimeoutMs: 1000,
        location: "gone",
      }),
      (e: unknown) => e instanceof StoreError && e.code === "STORE_OPEN_FAILED",
    );
  },
});
