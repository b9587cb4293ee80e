import assert from "node:assert/strict";
import { parseConfig } from "../../../config/mod.ts";
import {
  checkPublishKey,
  compileAccessPolicy,
} from "../../../origin/auth/mod.ts";

Deno.test("compileAccessPolicy() resolves access per app, with a default and auth.enabled", () => {
  const origin = parseConfig({
    origin: {
      apps: [{ name: "live", access: "token" }, { name: "pub" }],
      defaultApp: { access: "open" },
    },
  }).origin;
  const p = compileAccessPolicy(origin);
  assert.equal(p.accessOf("live"), "token");
  assert.equal(p.accessOf("pub"), "open");
  assert.equal(p.accessOf("unknown"), "open");
  assert.equal(p.needsTokens, true);
  const all = compileAccessPolicy(origin, { tokensEverywhere: true });
  assert.equal(all.accessOf("pub"), "token");
  const none = compileAccessPolicy(parseConfig({}).origin);
  assert.equal(none.needsTokens, false);
  assert.deepEqual(none.publishKeysOf("live", "demo"), []);
  const closed = compileAccessPolicy(
    parseConfig({ origin: { defaultApp: { access: "token" } } }).origin,
  );
  assert.equal(closed.accessOf("anything"), "token");
});

Deno.test("checkPublishKey() accepts any listed key and tells missing from wrong", () => {
  const table: [string[], string | undefined, string][] = [
    [[], undefined, "ok"],
    [[], "anything", "ok"],
    [["a"], undefined, "missing"],
    [["a"], "", "missing"],
    [["a"], "a", "ok"],
    [["a", "bb"], "bb", "ok"],
    [["a", "bb"], "b", "wrong"],
    [["a"], "a ", "wrong"],
  ];
  for (const [keys, presented, want] of table) {
    assert.equal(
      checkPublishKey(keys, presented),
      want,
      `${keys} ${presented}`,
    );
  }
});
