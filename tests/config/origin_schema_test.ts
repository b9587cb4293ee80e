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
