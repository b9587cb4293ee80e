import assert from "node:assert/strict";
import {
  type EdgeRecord,
  type FeedEntry,
  KvStore,
} from "../../../store/mod.ts";
import { waitUntil, withStore } from "../_temp_store.ts";

const T0 = 1_700_000_000_000;

function record(id: string, patch: Partial<EdgeRecord> = {}): EdgeRecord {
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

Deno.test("store.edges: a registration is read by a second store and announced on its feed", async () => {
  await withStore(async (a, kvPath) => {
    const b = await KvStore.open(kvPath, { pollIntervalMs: 20 });
    try {
      const seen: FeedEntry[] = [];
      b.subscribe((e) => seen.push(e));
      await a.edges.register(record("fra1"));
      await a.edges.register(record("ams1", { address: "192.0.2.2" }));
      const snap = await b.edges.snapshot(T0 + 1000);
      assert.deepEqual(snap.edges.map((e) => e.id), ["ams1", "fra1"]);
      assert.deepEqual(snap.edges[1], record("fra1"));
      await waitUntil(
        "registrations on the feed",
        () => seen.length === 2,
        2000,
      );
      assert.deepEqual(seen.map((e) => e.event), [
        { kind: "edge.registered", edgeId: "fra1" },
        { kind: "edge.registered", edgeId: "ams1" },
      ]);

      // A heartbeat replaces the record; a deregistration deletes and announces it.
      await a.edges.heartbeat(
        record("fra1", {
          updatedAtMs: T0 + 4000,
          load: { viewers: 3, egressBitsPerSecond: 1e6, hitRatio: 0.5 },
        }),
      );
      const fra = (await b.edges.snapshot(T0 + 5000)).edges.find((e) =>
        e.id === "fra1"
      );
      assert.equal(fra?.load.viewers, 3);
      await a.edges.deregister("ams1");
      assert.deepEqual(
        (await b.edges.snapshot(T0 + 5000)).edges.map((e) => e.id),
        ["fra1"],
      );
      await waitUntil(
        "deregistration on the feed",
        () => seen.length === 3,
        2000,
      );
      assert.deepEqual(seen[2]!.event, {
        kind: "edge.deregistered",
        edgeId: "ams1",
      });
    } finally {
      await b.close();
    }
  });
});

Deno.test("store.edges.snapshot() leaves out an edge whose heartbeats stopped", async () => {
  await withStore(async (store) => {
    await store.edges.register(record("fra1", { heartbeatSeconds: 1 }));
    assert.equal((await store.edges.snapshot(T0 + 3000)).edges.length, 1);
    assert.equal((await store.edges.snapshot(T0 + 3001)).edges.length, 0);
    await store.edges.heartbeat(
      record("fra1", { heartbeatSeconds: 1, updatedAtMs: T0 + 3000 }),
    );
    assert.equal((await store.edges.snapshot(T0 + 3001)).edges.length, 1);
  });
});

Deno.test("store.edges.setDraining() is shared, survives re-registration and is announced", async () => {
  await withStore(async (a, kvPath) => {
    const b = await KvStore.open(kvPath, { pollIntervalMs: 20 });
    try {
      const seen: FeedEntry[] = [];
      b.subscribe((e) => seen.push(e));
      await a.edges.register(record("fra1"));
      await a.edges.setDraining("fra1", true, T0 + 10);
      assert.deepEqual(
        [...(await b.edges.snapshot(T0)).drains],
        [["fra1", T0 + 10]],
      );
      // The flag is the operator's, apart from the record: a restart keeps the edge drained.
      await a.edges.deregister("fra1");
      await a.edges.register(record("fra1"));
      assert.equal((await b.edges.snapshot(T0)).drains.has("fra1"), true);
      await b.edges.setDraining("fra1", false, T0 + 20);
      assert.equal((await a.edges.snapshot(T0)).drains.size, 0);
      await waitUntil(
        "drain events",
        () => seen.filter((e) => e.event.kind === "edge.drain").length === 2,
        2000,
      );
      assert.deepEqual(
        seen.filter((e) => e.event.kind === "edge.drain").map((e) => e.event),
        [
          { kind: "edge.drain", edgeId: "fra1", draining: true },
          { kind: "edge.drain", edgeId: "fra1", draining: false },
        ],
      );
    } finally {
      await b.close();
    }
  });
});

Deno.test("store.edges.reportHealth() keeps one view per scheduler and edge until its ttl", async () => {
  await withStore(async (store) => {
    await store.edges.reportHealth(
      "s1",
      [
        { edgeId: "fra1", up: true, lastError: "" },
        { edgeId: "ams1", up: false, lastError: "connection refused" },
      ],
      T0,
      3000,
    );
    await store.edges.reportHealth(
      "s2",
      [
        { edgeId: "fra1", up: false, lastError: "timeout" },
      ],
      T0 + 1000,
      3000,
    );
    // s1 again: replaces its own view, never s2's.
    await store.edges.reportHealth(
      "s1",
      [
        { edgeId: "fra1", up: true, lastError: "" },
      ],
      T0 + 2000,
      3000,
    );
    const views = (await store.edges.snapshot(T0 + 3500)).health;
    assert.deepEqual(
      views.map((v) => `${v.edgeId}/${v.schedulerId}=${v.up}`).sort(),
      ["fra1/s1=true", "fra1/s2=false"],
      "ams1/s1 (written at T0, ttl 3 s) is stale",
    );
  });
});
