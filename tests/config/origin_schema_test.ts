import assert from "node:assert/strict";
import {
  ORIGIN_CONSTRAINTS,
  ORIGIN_DEFAULTS,
} from "../../config/origin_schema.ts";
import { CONSTRAINTS, DEFAULTS } from "../../config/schema.ts";

/** The values at a dotted key (`[]` steps into every item of a list). */
function valuesAt(root: unknown, path: string): unknown[] {
  let nodes: unknown[] = [root];
  for (const p of path.split(".")) {
    const list = p.endsWith("[]");
    const k = list ? p.slice(0, -2) : p;
    nodes = nodes.flatMap((n) => {
      const v = (n as Record<string, unknown>)[k];
      return list ? (v as unknown[]) : [v];
    });
  }
  return nodes;
}

Deno.test("ORIGIN_DEFAULTS pass every ORIGIN_CONSTRAINTS entry, and config/schema.ts composes both", () => {
  for (const [key, check] of Object.entries(ORIGIN_CONSTRAINTS)) {
    assert.ok(key.startsWith("origin."), key);
    for (const v of valuesAt({ origin: ORIGIN_DEFAULTS }, key)) {
      assert.equal(check(v), undefined, `${key}: ${JSON.stringify(v)}`);
    }
    assert.equal(CONSTRAINTS[key], check, `${key} in CONSTRAINTS`);
  }
  assert.equal(DEFAULTS.origin, ORIGIN_DEFAULTS);
  // No origin key is constrained anywhere else.
  assert.deepEqual(
    Object.keys(CONSTRAINTS).filter((k) => k.startsWith("origin.")).sort(),
    Object.keys(ORIGIN_CONSTRAINTS).sort(),
  );
  assert.equal(ORIGIN_DEFAULTS.rtmpPort, 1935);
  assert.equal(ORIGIN_DEFAULTS.httpPort, 8090);
});

Deno.test("ORIGIN_CONSTRAINTS reject bad names, hook URLs, prefixes and clock times", () => {
  const c = (key: string, v: unknown) => ORIGIN_CONSTRAINTS[key]!(v);
  assert.match(c("origin.apps[].name", "..")!, /a name of/);
  assert.match(c("origin.hooks.onPlay", "ftp://x")!, /http\(s\) URL/);
  assert.equal(c("origin.hooks.onPlay", ""), undefined);
  assert.match(c("origin.vod.libraries[].prefix", "/api/")!, /not \/api\//);
  assert.match(c("origin.virtualLive[].schedule[].at", "24:00")!, /HH:MM/);
  assert.match(c("origin.virtualLive[].timeZone", "Mars/Olympus")!, /IANA/);
  assert.match(c("origin.rtmpPort", 70000)!, /0\.\.65535/);
});

Deno.test("ORIGIN_CONSTRAINTS check relay upstream and forward URLs, the secret's length and the node id", () => {
  const c = (key: string, v: unknown) => ORIGIN_CONSTRAINTS[key]!(v);
  for (const ok of ["rtmp://a:1935", "http://10.0.0.1:8090", "https://a/"]) {
    assert.equal(c("origin.relay.upstreams[].url", ok), undefined, ok);
  }
  for (const bad of ["rtmp://a/live", "ftp://a", "http://a?x=1", "a:1935"]) {
    assert.match(c("origin.relay.upstreams[].url", bad)!, /no path/, bad);
  }
  assert.equal(c("origin.relay.upstreams[].apiUrl", ""), undefined);
  assert.match(c("origin.relay.upstreams[].apiUrl", "rtmp://a")!, /http/);
  for (
    const ok of [
      "rtmp://a/live",
      "rtmp://a:1936/app/{stream}",
      "rtmps://live.example:443/app/key-123?x=1",
    ]
  ) assert.equal(c("origin.relay.forward[].url", ok), undefined, ok);
  for (const bad of ["rtmp://a", "rtmp://a/b/c/d", "http://a/live"]) {
    assert.match(c("origin.relay.forward[].url", bad)!, /rtmp/, bad);
  }
  assert.equal(c("origin.relay.secret", ""), undefined);
  assert.match(c("origin.relay.secret", "short")!, /16\.\.256/);
  assert.equal(c("origin.relay.secret", "x".repeat(16)), undefined);
  assert.match(c("origin.relay.nodeId", "a b")!, /A-Za-z0-9/);
  assert.match(c("origin.relay.streamList", "dns")!, /upstream, store, off/);
});

Deno.test("origin.llhls: on for `live` by default; apps unique safe names, part target 0.1..2 s, window and cap bounded", async () => {
  const { parseConfig } = await import("../../config/mod.ts");
  assert.deepEqual(ORIGIN_DEFAULTS.llhls.apps, ["live"]);
  const ok = parseConfig({
    origin: { llhls: { apps: ["a", "b"], partTargetSeconds: 0.2 } },
  }).origin.llhls;
  assert.deepEqual(ok.apps, ["a", "b"]);
  assert.equal(ok.partTargetSeconds, 0.2);
  assert.equal(ok.windowSegments, ORIGIN_DEFAULTS.llhls.windowSegments);
  assert.deepEqual(
    parseConfig({ origin: { llhls: { apps: [] } } }).origin.llhls.apps,
    [],
  );
  for (
    const [llhls, key] of [
      [{ apps: ["a", "a"] }, "origin.llhls.apps"],
      [{ apps: ["../x"] }, "origin.llhls.apps[0]"],
      [{ partTargetSeconds: 0.05 }, "origin.llhls.partTargetSeconds"],
      [{ partTargetSeconds: 3 }, "origin.llhls.partTargetSeconds"],
      [{ windowSegments: 2 }, "origin.llhls.windowSegments"],
      [{ maxHeldRequests: -1 }, "origin.llhls.maxHeldRequests"],
    ] as const
  ) {
    assert.throws(
      () => parseConfig({ origin: { llhls } }),
      (e) => e instanceof Error && e.message.includes(`'${key}'`),
      key,
    );
  }
});
