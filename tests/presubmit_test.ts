/**
 * Meta checks of the tree (STYLE.md B8): file names, codec purity, role boundaries, examples.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../config/mod.ts";

const ROOT = new URL("../", import.meta.url);
const SKIP = new Set(["node_modules", "data", ".git"]);

async function* walk(dir: URL, rel = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (SKIP.has(e.name) || e.name.startsWith(".")) continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) yield* walk(new URL(`${e.name}/`, dir), path);
    else yield path;
  }
}

async function tsFiles(): Promise<string[]> {
  const out: string[] = [];
  for await (const p of walk(ROOT)) if (p.endsWith(".ts")) out.push(p);
  return out;
}

Deno.test("presubmit: TypeScript file names are snake_case", async () => {
  const bad = (await tsFiles()).filter((p) =>
    !/^[a-z0-9_]+(\.d)?\.ts$/.test(p.split("/").pop()!)
  );
  assert.deepEqual(bad, []);
});

Deno.test("presubmit: codec/ is pure (no Deno.*, fetch, timers or console)", async () => {
  const bad: string[] = [];
  for (const p of (await tsFiles()).filter((p) => p.startsWith("codec/"))) {
    const src = await Deno.readTextFile(new URL(p, ROOT));
    // Doc examples in comments are allowed to mention anything; check code lines only.
    const code = src.split("\n").filter((l) => !/^\s*(\*|\/\/)/.test(l)).join(
      "\n",
    );
    for (
      const re of [
        /\bDeno\./,
        /\bfetch\(/,
        /\bsetTimeout\(/,
        /\bsetInterval\(/,
        /\bconsole\./,
      ]
    ) {
      if (re.test(code)) bad.push(`${p}: ${re}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("presubmit: no role imports another role (shared code lives below them)", async () => {
  // geo/ is a floor the scheduler uses, not a role; main.ts starts the roles.
  const roles = ["origin", "edge", "scheduler", "control"];
  const bad: string[] = [];
  for (const p of await tsFiles()) {
    const role = roles.find((r) => p.startsWith(`${r}/`));
    if (!role) continue;
    const src = await Deno.readTextFile(new URL(p, ROOT));
    for (const m of src.matchAll(/from\s+"(\.[^"]+)"/g)) {
      const target = new URL(m[1]!, new URL(p, ROOT)).pathname.slice(
        ROOT.pathname.length,
      );
      const other = roles.find((r) => target.startsWith(`${r}/`));
      if (other && other !== role) bad.push(`${p} → ${target}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("presubmit: shared floors import no role", async () => {
  const roles = ["origin/", "edge/", "scheduler/", "control/"];
  const bad: string[] = [];
  for (const [p, targets] of await importGraph()) {
    if (roles.some((r) => p.startsWith(r)) || !p.includes("/")) continue;
    for (const t of targets) {
      if (roles.some((r) => t.startsWith(r))) bad.push(`${p} → ${t}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("presubmit: every deploy/examples/**/*.yaml loads", async () => {
  const loaded: string[] = [];
  for await (const p of walk(new URL("deploy/examples/", ROOT))) {
    if (!p.endsWith(".yaml")) continue;
    await loadConfig(new URL(`deploy/examples/${p}`, ROOT).pathname, {});
    loaded.push(p);
  }
  // The scenarios the README's Production section refers to, nested folders included.
  for (
    const want of ["all_in_one.yaml", "one_box.yaml", "regions/edge_eu.yaml"]
  ) {
    assert.ok(loaded.includes(want), `${want} in ${loaded.join(", ")}`);
  }
});

Deno.test("presubmit: deploy/examples/regions is one deployment (one store, edges on the origin, schedulers alike)", async () => {
  const dir = "deploy/examples/regions";
  const load = async (name: string) =>
    (await loadConfig(new URL(`${dir}/${name}`, ROOT).pathname, {})).config;
  const origin = await load("origin.yaml");
  const edges = await Promise.all(
    ["edge_eu.yaml", "edge_us.yaml", "edge_ap.yaml"].map(load),
  );
  const schedulers = await Promise.all(
    ["scheduler_1.yaml", "scheduler_2.yaml"].map(load),
  );
  const all = [origin, ...edges, ...schedulers];
  // One Redis for every node, over TLS (the nodes talk across the public internet).
  assert.deepEqual(new Set(all.map((c) => c.store.url)).size, 1);
  assert.match(origin.store.url, /^rediss:\/\//);
  // Edges pull from the origin's HTTPS port, trusting the internal CA; each has its own place.
  for (const e of edges) {
    assert.deepEqual(e.edge.origins.map((o) => new URL(o.url).port), [
      String(origin.origin.tls.port),
    ]);
    assert.ok(e.tls.caFile !== "");
    assert.ok(e.edge.tls.certFile !== "" && e.edge.tls.port === 443);
  }
  assert.equal(new Set(edges.map((e) => e.edge.registry.id)).size, 3);
  assert.equal(new Set(edges.map((e) => e.edge.registry.region)).size, 3);
  // Both schedulers: the same zone, read from the shared registry; each NS has its glue.
  const [a, b] = schedulers.map((c) => c.scheduler);
  assert.deepEqual(a!.zones, b!.zones);
  assert.equal(a!.registry.source, "store");
  const zone = a!.zones[0]!;
  for (const ns of zone.ns) {
    const label = ns.slice(0, -(zone.name.length + 1));
    assert.ok(
      zone.records.some((r) => r.name === label && r.type === "A"),
      `glue for ${ns}`,
    );
  }
});

Deno.test("presubmit: every deploy/systemd unit runs known roles with memory limits, descriptors and only CAP_NET_BIND_SERVICE", async () => {
  const roles = new Set(["origin", "edge", "scheduler", "control"]);
  let units = 0;
  for await (const e of Deno.readDir(new URL("deploy/systemd/", ROOT))) {
    if (!e.name.endsWith(".service")) continue;
    units++;
    const text = await Deno.readTextFile(
      new URL(`deploy/systemd/${e.name}`, ROOT),
    );
    const key = (k: string) =>
      text.match(new RegExp(`^${k}=(.*)$`, "m"))?.[1]?.trim();
    const exec = key("ExecStart") ?? "";
    assert.match(exec, / main\.ts /, e.name);
    for (const r of exec.match(/--roles (\S+)/)?.[1]?.split(",") ?? []) {
      assert.ok(roles.has(r), `${e.name}: role ${r}`);
    }
    for (const k of ["MemoryHigh", "MemoryMax", "LimitNOFILE"]) {
      assert.ok(key(k), `${e.name}: ${k}`);
    }
    assert.equal(key("AmbientCapabilities"), "CAP_NET_BIND_SERVICE", e.name);
    assert.equal(key("CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE", e.name);
    assert.equal(key("NoNewPrivileges"), "true", e.name);
    assert.equal(key("ProtectSystem"), "strict", e.name);
    // V8 writes machine code; TLS listeners read /proc/net/tcp (net/tls/proc_sockets.ts).
    assert.equal(key("MemoryDenyWriteExecute"), undefined, e.name);
    assert.equal(key("ProcSubset"), undefined, e.name);
  }
  assert.ok(units >= 5, `${units} units`);
});

/** Relative imports of every source file (tests and benches excluded), as tree paths. */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const p of await tsFiles()) {
    if (p.startsWith("tests/") || p.startsWith("bench/")) continue;
    const src = await Deno.readTextFile(new URL(p, ROOT));
    const targets: string[] = [];
    // Static imports and re-exports only; `import("...")` is how main.ts loads roles lazily.
    for (
      const m of src.matchAll(/^(?:import|export)[^;]*?\sfrom\s+"(\.[^"]+)"/gms)
    ) {
      targets.push(
        new URL(m[1]!, new URL(p, ROOT)).pathname.slice(ROOT.pathname.length),
      );
    }
    graph.set(p, targets);
  }
  return graph;
}

Deno.test("presubmit: codec/ imports nothing outside codec/ but the error base (errors/)", async () => {
  const bad: string[] = [];
  for (const [p, targets] of await importGraph()) {
    if (!p.startsWith("codec/")) continue;
    for (const t of targets) {
      if (!t.startsWith("codec/") && t !== "errors/mod.ts") {
        bad.push(`${p} → ${t}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("presubmit: no circular imports between modules", async () => {
  const graph = await importGraph();
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (p: string, stack: string[]) => {
    const s = state.get(p);
    if (s === "done") return;
    if (s === "open") {
      cycles.push([...stack.slice(stack.indexOf(p)), p].join(" → "));
      return;
    }
    state.set(p, "open");
    for (const t of graph.get(p) ?? []) visit(t, [...stack, p]);
    state.set(p, "done");
  };
  for (const p of graph.keys()) visit(p, []);
  assert.deepEqual(cycles, []);
});

Deno.test("presubmit: the README's Layout names every top-level folder", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const layout = readme.slice(
    readme.indexOf("## Layout"),
    readme.indexOf("## Where"),
  );
  const missing: string[] = [];
  for await (const e of Deno.readDir(ROOT)) {
    if (!e.isDirectory || SKIP.has(e.name) || e.name.startsWith(".")) continue;
    if (!layout.includes(`\`${e.name}/\``)) missing.push(e.name);
  }
  assert.deepEqual(missing, []);
});
