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

Deno.test("presubmit: every deploy/examples/*.yaml loads", async () => {
  let n = 0;
  for await (const e of Deno.readDir(new URL("deploy/examples/", ROOT))) {
    if (!e.name.endsWith(".yaml")) continue;
    await loadConfig(new URL(`deploy/examples/${e.name}`, ROOT).pathname, {});
    n++;
  }
  assert.ok(n >= 1);
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
