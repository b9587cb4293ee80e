import assert from "node:assert/strict";
import {
  ConnGuard,
  ConnState,
  type ConnTicket,
  guardFromLimits,
  parseTrustedNetworks,
  registerConnGuard,
} from "../../net/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";

function ticket(t: ConnTicket | string): ConnTicket {
  assert.ok(typeof t !== "string", `refused: ${t}`);
  return t as ConnTicket;
}

Deno.test("ConnGuard.admit() caps one address and lets others in", () => {
  const g = new ConnGuard({
    maxConnections: 100,
    maxPerAddress: 2,
    trusted: [],
  });
  ticket(g.admit("192.0.2.1", () => {}));
  const b = ticket(g.admit("192.0.2.1", () => {}));
  assert.equal(g.admit("192.0.2.1", () => {}), "per_address");
  ticket(g.admit("192.0.2.2", () => {}));
  b.release();
  ticket(g.admit("192.0.2.1", () => {}));
  assert.equal(g.stats.refusedPerAddress, 1);
  assert.equal(g.open, 3);
});

Deno.test("ConnGuard.admit() groups IPv6 by prefix and IPv4-mapped as IPv4", () => {
  const g = new ConnGuard({
    maxConnections: 100,
    maxPerAddress: 1,
    prefixV4: 24,
    prefixV6: 56,
    trusted: [],
  });
  ticket(g.admit("2001:db8:0:100::1", () => {}));
  assert.equal(g.admit("2001:db8:0:1ff::2", () => {}), "per_address");
  ticket(g.admit("2001:db8:0:200::1", () => {}));
  ticket(g.admit("198.51.100.7", () => {}));
  assert.equal(g.admit("::ffff:198.51.100.200", () => {}), "per_address");
});

Deno.test("ConnGuard.admit() exempts trusted networks from the per-address cap only", () => {
  const g = new ConnGuard({
    maxConnections: 3,
    maxPerAddress: 1,
    trusted: parseTrustedNetworks(["127.0.0.0/8"]),
  });
  const all = [1, 2, 3].map(() => ticket(g.admit("127.0.0.1", () => {})));
  assert.ok(all.every((t) => t.trusted));
  for (const t of all) t.mark(ConnState.Active);
  assert.equal(g.admit("127.0.0.1", () => {}), "total");
});

Deno.test("ConnGuard.admit() at the cap evicts the oldest pending, then the oldest idle, never an active one", () => {
  const g = new ConnGuard({ maxConnections: 3, maxPerAddress: 0, trusted: [] });
  const evicted: string[] = [];
  const a = ticket(g.admit("192.0.2.1", () => evicted.push("a")));
  const b = ticket(g.admit("192.0.2.2", () => evicted.push("b")));
  const c = ticket(g.admit("192.0.2.3", () => evicted.push("c")));
  a.mark(ConnState.Idle);
  b.mark(ConnState.Active);
  // c is the only pending one: it goes first, although a is older.
  const d = ticket(g.admit("192.0.2.4", () => evicted.push("d")));
  assert.deepEqual(evicted, ["c"]);
  assert.ok(c.released);
  d.mark(ConnState.Active);
  // No pending left: the idle one goes.
  const e = ticket(g.admit("192.0.2.5", () => evicted.push("e")));
  assert.deepEqual(evicted, ["c", "a"]);
  e.mark(ConnState.Active);
  // Only active ones: refused.
  assert.equal(g.admit("192.0.2.6", () => {}), "total");
  assert.deepEqual(g.stats, {
    open: 3,
    refusedTotal: 1,
    refusedPerAddress: 0,
    evicted: 2,
  });
  // A late release of an evicted ticket changes nothing.
  c.release();
  assert.equal(g.open, 3);
});

Deno.test("ConnGuard ticket.mark() makes a connection young again in its class", () => {
  const g = new ConnGuard({ maxConnections: 2, maxPerAddress: 0, trusted: [] });
  const evicted: string[] = [];
  const a = ticket(g.admit("192.0.2.1", () => evicted.push("a")));
  const b = ticket(g.admit("192.0.2.2", () => evicted.push("b")));
  a.mark(ConnState.Idle);
  b.mark(ConnState.Idle);
  a.mark(ConnState.Active);
  a.mark(ConnState.Idle); // a served a request again: b is now the longest idle
  ticket(g.admit("192.0.2.3", () => {}));
  assert.deepEqual(evicted, ["b"]);
});

Deno.test("registerConnGuard() exposes every listener's counts in one family", () => {
  const m = new MetricsRegistry();
  const g1 = new ConnGuard({
    maxConnections: 1,
    maxPerAddress: 0,
    trusted: [],
  });
  const g2 = new ConnGuard({
    maxConnections: 1,
    maxPerAddress: 0,
    trusted: [],
  });
  registerConnGuard(m, "edge_http", g1);
  registerConnGuard(m, "origin_rtmp", g2);
  ticket(g1.admit("192.0.2.1", () => {})).mark(ConnState.Active);
  assert.equal(g1.admit("192.0.2.2", () => {}), "total");
  const text = m.render();
  assert.match(text, /meridian_connections_open\{listener="edge_http"\} 1/);
  assert.match(text, /meridian_connections_open\{listener="origin_rtmp"\} 0/);
  assert.match(
    text,
    /meridian_connections_refused_total\{listener="edge_http",reason="total"\} 1/,
  );
});

Deno.test("guardFromLimits() takes a limits slice and the trusted networks", () => {
  const g = guardFromLimits(
    { maxConnections: 3, maxConnectionsPerAddress: 1 },
    ["10.0.0.0/8"],
  );
  ticket(g.admit("10.1.2.3", () => {}));
  ticket(g.admit("10.1.2.3", () => {})); // trusted: over its share
  ticket(g.admit("192.0.2.1", () => {}));
  assert.equal(g.admit("192.0.2.1", () => {}), "per_address");
  // Full: the oldest pending goes.
  ticket(g.admit("192.0.2.2", () => {}));
  assert.deepEqual(g.stats, {
    open: 3,
    refusedTotal: 0,
    refusedPerAddress: 1,
    evicted: 1,
  });
});
