import assert from "node:assert/strict";
import { EDGE_CONSTRAINTS, EDGE_DEFAULTS } from "../../config/edge_schema.ts";

Deno.test("EDGE_DEFAULTS pass every EDGE_CONSTRAINTS entry", () => {
  const get = (path: string): unknown[] => {
    const parts = path.replace(/^edge\./, "").split(".");
    let nodes: unknown[] = [EDGE_DEFAULTS];
    for (const p of parts) {
      const list = p.endsWith("[]");
      const k = list ? p.slice(0, -2) : p;
      nodes = nodes.flatMap((n) => {
        const v = (n as Record<string, unknown>)[k];
        return list ? (v as unknown[]) : [v];
      });
    }
    return nodes;
  };
  for (const [key, check] of Object.entries(EDGE_CONSTRAINTS)) {
    assert.ok(key.startsWith("edge."), key);
    for (const v of get(key)) {
      assert.equal(check(v), undefined, `${key}: ${JSON.stringify(v)}`);
    }
  }
  assert.equal(EDGE_DEFAULTS.origins[0]!.url, "http://127.0.0.1:8090");
  assert.equal(EDGE_DEFAULTS.port, 8080);
});

Deno.test("EDGE_CONSTRAINTS reject bad origin URLs and weights", () => {
  assert.match(EDGE_CONSTRAINTS["edge.origins[].url"]!("ftp://x")!, /http/);
  assert.match(
    EDGE_CONSTRAINTS["edge.origins[].url"]!("http://x/path")!,
    /without path/,
  );
  assert.match(EDGE_CONSTRAINTS["edge.origins[].weight"]!(0)!, /1\.\.1000/);
  assert.match(EDGE_CONSTRAINTS["edge.origins"]!([])!, /at least one/);
});
