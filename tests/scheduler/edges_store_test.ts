import assert from "node:assert/strict";
import { ConfigError } from "../../config/mod.ts";
import { startScheduler } from "../../scheduler/mod.ts";
import { GEO, testConfig } from "./_fixtures.ts";
import {
  registeredHealthTarget,
  registeredLoad,
  StoreEdgeSource,
} from "../../scheduler/edges_store.ts";
import type { HealthSnapshot } from "../../scheduler/health/monitor.ts";
import { initialHealth } from "../../scheduler/health/state.ts";
import { type EdgeRecord, KvStore } from "../../store/mod.ts";
import { withStore } from "../store/_temp_store.ts";
import { waitFor } from "../_helpers/peers.ts";

const HEALTH = { kind: "http", path: "/healthz", intervalMs: 100 } as const;

function record(
  id: string,
  nowMs: number,
  patch: Partial<EdgeRecord> = {},
): EdgeRecord {
  return {
    id,
    region: "eu",
    latitude: 50,
    longitude: 8,
    address: "192.0.2.1",
    address6: "2001:db8::1",
    baseUrl: "http://10.0.0.1:8080",
    capacityBps: 2e10,
    capacityViewers: 0,
    heartbeatSeconds: 1,
    registeredAtMs: nowMs,
    updatedAtMs: nowMs,
    load: { viewers: 0, egressBitsPerSecond: 5e9, hitRatio: 0.9 },
    ...patch,
  };
}

/** Local health set by hand, with states (the shared views need them). */
class LocalHealth implements HealthSnapshot {
  version = 1;
  readonly #up = new Map<string, boolean>();
  set(id: string, up: boolean) {
    this.#up.set(id, up);
    this.version++;
  }
  isUp(id: string) {
    return this.#up.get(id) ?? false;
  }
  state(id: string) {
    const up = this.#up.get(id);
    return up === undefined
      ? undefined
      : initialHealth(up, 0, up ? "" : "refused");
  }
}

Deno.test("registeredLoad() and registeredHealthTarget() map a record to the scheduler's view", () => {
  const r = record("a", 0, {
    capacityBps: 1e9,
    capacityViewers: 1000,
    load: { viewers: 100, egressBitsPerSecond: 333_333_333, hitRatio: 1 },
  });
  assert.equal(registeredLoad(r), 0.33);
  assert.equal(registeredLoad({ ...r, capacityBps: 0, capacityViewers: 0 }), 0);
  assert.equal(
    registeredHealthTarget({ baseUrl: "http://10.0.0.1:8080/" }, HEALTH),
    "http://10.0.0.1:8080/healthz",
  );
  assert.equal(
    registeredHealthTarget({ baseUrl: "http://[2001:db8::1]:8080" }, {
      kind: "tcp",
      path: "",
    }),
    "[2001:db8::1]:8080",
  );
  assert.equal(
    registeredHealthTarget({ baseUrl: "https://e.example" }, {
      kind: "tcp",
      path: "",
    }),
    "e.example:443",
  );
});

Deno.test("StoreEdgeSource lists registered edges from memory; version moves only on change", async () => {
  await withStore(async (store) => {
    let now = Date.now();
    await store.edges.register(record("fra1", now));
    const source = new StoreEdgeSource(store, {
      health: HEALTH,
      refreshMs: 60_000,
      clock: () => now,
    });
    await source.start();
    try {
      const [s] = source.list();
      assert.deepEqual(s, {
        edge: {
          id: "fra1",
          address: "192.0.2.1",
          address6: "2001:db8::1",
          region: "eu",
          latitude: 50,
          longitude: 8,
          capacity: 20,
          healthTarget: "http://10.0.0.1:8080/healthz",
        },
        load: 0.25,
        draining: false,
      });
      const v = source.version;
      // A heartbeat with the same load changes nothing the answers depend on.
      now += 500;
      await store.edges.heartbeat(record("fra1", now));
      await source.refresh();
      assert.equal(source.version, v);
      // A join bumps the version (and arrives without waiting for the 60 s timer: feed).
      await store.edges.register(record("ams1", now, { address: "192.0.2.2" }));
      await waitFor("join seen", () => source.list().length === 2, 2000);
      assert.ok(source.version > v);
      // Heartbeats stop: the edge is left out once 3 are missed.
      now += 3100;
      await store.edges.heartbeat(record("ams1", now));
      await source.refresh();
      assert.deepEqual(source.list().map((s) => s.edge.id), ["ams1"]);
    } finally {
      await source.close();
    }
  });
});

Deno.test("StoreEdgeSource.setDraining() is seen by a scheduler on another store handle", async () => {
  await withStore(async (a, kvPath) => {
    const b = await KvStore.open(kvPath, { pollIntervalMs: 20 });
    const opts = { health: HEALTH, refreshMs: 60_000 };
    const s1 = new StoreEdgeSource(a, opts);
    const s2 = new StoreEdgeSource(b, opts);
    try {
      await a.edges.register(record("fra1", Date.now()));
      await s1.start();
      await s2.start();
      assert.equal(await s1.setDraining("nope", true), false);
      assert.equal(await s1.setDraining("fra1", true), true);
      assert.equal(s1.list()[0]!.draining, true, "at once where it was set");
      await waitFor(
        "drain on s2",
        () => s2.list()[0]?.draining === true,
        2000,
      );
      assert.equal(await s2.setDraining("fra1", false), true);
      await waitFor(
        "undrain on s1",
        () => s1.list()[0]?.draining === false,
        2000,
      );
    } finally {
      await s1.close();
      await s2.close();
      await b.close();
    }
  });
});

Deno.test("StoreEdgeSource.attachHealth() combines every scheduler's verdict by majority", async () => {
  await withStore(async (store) => {
    await store.edges.register(
      record("fra1", Date.now(), { heartbeatSeconds: 60 }),
    );
    const make = async (id: string, up: boolean) => {
      const source = new StoreEdgeSource(store, {
        health: HEALTH,
        refreshMs: 60_000,
        schedulerId: id,
      });
      await source.start();
      const local = new LocalHealth();
      local.set("fra1", up);
      return { source, local, health: source.attachHealth(local) };
    };
    const x = await make("x", false);
    const y = await make("y", true);
    const z = await make("z", false);
    try {
      // Before anyone shared a view, each scheduler has only its own.
      assert.equal(x.health.isUp("fra1"), false);
      assert.equal(y.health.isUp("fra1"), true);
      // x and y share: a tie is up, for both.
      await x.source.refresh();
      await y.source.refresh();
      await x.source.refresh();
      assert.equal(x.health.isUp("fra1"), true);
      assert.equal(y.health.isUp("fra1"), true);
      // z's vote makes it 2 down, 1 up: down everywhere once read.
      const v = y.source.version;
      await z.source.refresh();
      await x.source.refresh();
      await y.source.refresh();
      assert.equal(x.health.isUp("fra1"), false);
      assert.equal(y.health.isUp("fra1"), false);
      assert.ok(
        y.source.version > v,
        "a remote verdict change bumps the version",
      );
      assert.equal(x.health.state("fra1")?.lastError, "refused");
    } finally {
      for (const s of [x, y, z]) await s.source.close();
    }
  });
});

Deno.test("startScheduler() takes its edges from the store per scheduler.registry.source", async () => {
  await assert.rejects(
    startScheduler(
      testConfig({ registry: { source: "store", refreshMs: 1000 } }),
      { geo: GEO },
    ),
    (e) => e instanceof ConfigError && e.key === "scheduler.registry.source",
  );
  await withStore(async (store) => {
    await store.edges.register(
      record("reg1", Date.now(), { heartbeatSeconds: 60 }),
    );
    // auto + a store: the registry, not the config list.
    const s = await startScheduler(
      testConfig({ registry: { source: "auto", refreshMs: 1000 } }),
      { geo: GEO, store },
    );
    try {
      assert.ok(s.edges instanceof StoreEdgeSource);
      assert.deepEqual(s.edges.list().map((e) => e.edge.id), ["reg1"]);
    } finally {
      await s.close();
    }
    // config: the list, store or not.
    const c = await startScheduler(
      testConfig({ registry: { source: "config", refreshMs: 1000 } }),
      { geo: GEO, store },
    );
    try {
      assert.deepEqual(c.edges.list().map((e) => e.edge.id), [
        "fra1",
        "iad1",
        "sin1",
      ]);
    } finally {
      await c.close();
    }
  });
});
