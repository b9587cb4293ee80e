/**
 * The overview's figures (pure, from records), the ingest bit rate from successive listings,
 * and the scheduler's key figures picked from its dashboard answer.
 */
import assert from "node:assert/strict";
import { BitrateSampler } from "../../control/bitrate.ts";
import { buildOverview } from "../../control/overview.ts";
import { schedulerFigures } from "../../control/scheduler_view.ts";
import type { EdgeRecord, NodeRecord } from "../../store/mod.ts";

const T0 = 1_700_000_000_000;

const node = (id: string, patch: Partial<NodeRecord> = {}): NodeRecord => ({
  id,
  roles: ["edge"],
  version: "0.9.0-dev",
  hostname: "h",
  startedAtMs: T0 - 90_000,
  endpoints: {},
  cpu: 0.5,
  rssBytes: 1e8,
  rates: {},
  updatedAtMs: T0,
  ttlMs: 6000,
  ...patch,
});
const edge = (
  id: string,
  load: EdgeRecord["load"],
  baseUrl: string,
): EdgeRecord => ({
  id,
  region: "",
  latitude: 0,
  longitude: 0,
  address: "",
  address6: "",
  baseUrl,
  capacityBps: 0,
  capacityViewers: 0,
  heartbeatSeconds: 5,
  registeredAtMs: T0,
  updatedAtMs: T0,
  load,
});

Deno.test("buildOverview() counts streams once, viewers by protocol, egress, weighted hit ratio, DNS rate, edge states", () => {
  const o = buildOverview(
    [
      node("a", { roles: ["scheduler"], rates: { dnsQueriesPerSecond: 12.5 } }),
      node("b", { endpoints: { "edge.http": "http://e1" } }),
      node("c", { endpoints: { "edge.http": "http://e2" } }),
    ],
    {
      edges: [
        edge(
          "e1",
          { viewers: 3, egressBitsPerSecond: 3e6, hitRatio: 0.9 },
          "http://e1",
        ),
        edge(
          "e2",
          { viewers: 1, egressBitsPerSecond: 1e6, hitRatio: 0.5 },
          "http://e2",
        ),
      ],
      drains: new Map([["e2", T0]]),
      health: [{
        edgeId: "e1",
        schedulerId: "s",
        up: false,
        lastError: "x",
        reportedAtMs: T0,
        ttlMs: 1e4,
      }],
    },
    [
      {
        streams: [{
          app: "live",
          name: "a",
          viewersByProtocol: { flv: 2, rtmp: 1 },
        }],
      },
      {
        streams: [{ app: "live", name: "a", viewersByProtocol: { flv: 1 } }, {
          app: "live",
          name: "b",
        }],
      },
    ],
    T0,
  );
  assert.deepEqual(o.totals, {
    nodes: 3,
    origins: 2,
    edges: 2,
    streams: 2,
    viewers: { originFlv: 3, originRtmp: 1, edge: 4 },
    egressBps: 4e6,
    hitRatio: 0.8,
    dnsQps: 12.5,
  });
  assert.deepEqual(o.nodes.map((n) => [n.id, n.state, n.uptimeSeconds]), [
    ["a", "up", 90],
    ["b", "degraded", 90],
    ["c", "draining", 90],
  ]);
  assert.equal(
    buildOverview([], { edges: [], drains: new Map(), health: [] }, [], T0)
      .totals.hitRatio,
    null,
  );
});

Deno.test("BitrateSampler: a rate from two listings, none before, repeated listings keep it", () => {
  const s = new BitrateSampler();
  assert.equal(s.observe("k", 1000, T0, T0), undefined);
  assert.equal(
    s.observe("k", 1000, T0, T0 + 500),
    undefined,
    "the same listing again",
  );
  assert.equal(s.observe("k", 251_000, T0 + 2000, T0 + 2000), 1_000_000);
  assert.equal(s.observe("k", 251_000, T0 + 2000, T0 + 3000), 1_000_000);
  // A restarted publish (fewer bytes) starts over.
  assert.equal(s.observe("k", 10, T0 + 4000, T0 + 4000), undefined);
});

Deno.test("schedulerFigures() picks edges up, routed rate, DNS rate and the top routes", () => {
  const f = schedulerFigures("http://s:8070", {
    edges: [{ state: "up" }, { state: "down" }, { state: "up" }],
    routing: {
      windowSeconds: 60,
      queries: 120,
      routes: [{ region: "CN", edgeId: "sha1", share: 0.75 }, {
        region: "DE",
        edgeId: "fra1",
        share: 0.25,
      }],
    },
    dns: { rateHistory: [1, 2, 3.5] },
  });
  assert.deepEqual(f, {
    url: "http://s:8070",
    dashboardUrl: "http://s:8070/dashboard",
    edges: 3,
    edgesUp: 2,
    routedPerSecond: 2,
    dnsQps: 3.5,
    routes: [{ label: "CN → sha1", share: 0.75 }, {
      label: "DE → fra1",
      share: 0.25,
    }],
  });
  assert.equal(schedulerFigures("u", {}).dnsQps, null);
});
