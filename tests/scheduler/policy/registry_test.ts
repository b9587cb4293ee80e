import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../../../config/mod.ts";
import {
  DEFAULT_CHAIN,
  FILTERS,
  parseFilterChain,
} from "../../../scheduler/policy/registry.ts";
import { runPolicyContract } from "./_contract.ts";

const README = await Deno.readTextFile(
  new URL("../../../scheduler/policy/README.md", import.meta.url),
);

Deno.test("policy README has a section per filter and every YAML example parses", () => {
  for (const name of Object.keys(FILTERS)) {
    assert.match(README, new RegExp(`^## ${name}$`, "m"), `section ${name}`);
  }
  const blocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
  );
  assert.ok(blocks.length >= Object.keys(FILTERS).length);
  for (const block of blocks) {
    const doc = parseYaml(block) as unknown;
    const list = Array.isArray(doc)
      ? doc
      : (doc as { filters: unknown[] }).filters;
    assert.ok(parseFilterChain(list, "example").length >= 1, block);
  }
});

Deno.test("parseFilterChain() names the key of a bad filter", () => {
  assert.throws(
    () => parseFilterChain([{ name: "nope" }], "f"),
    (e: unknown) => e instanceof ConfigError && e.key === "f[0].name",
  );
  assert.throws(
    () => parseFilterChain([{ name: "first_n", count: 0 }], "f"),
    (e: unknown) => e instanceof ConfigError && e.key === "f[0].count",
  );
  assert.throws(
    () => parseFilterChain([{ name: "health", x: 1 }], "f"),
    (e: unknown) => e instanceof ConfigError && e.key === "f[0].x",
  );
  assert.throws(
    () =>
      parseFilterChain([{
        name: "network_override",
        overrides: [{ cidr: "10.0.0.1/8", region: "x" }],
      }], "f"),
    (e: unknown) =>
      e instanceof ConfigError && e.key === "f[0].overrides[0].cidr",
  );
});

runPolicyContract("default chain", parseFilterChain(DEFAULT_CHAIN, "d"), 2);
for (const name of Object.keys(FILTERS)) {
  runPolicyContract(`filter ${name}`, parseFilterChain([{ name }], name));
}
