import assert from "node:assert/strict";
import { DEFAULTS } from "../../config/mod.ts";
import { redactConfig, REDACTED } from "../../control/mod.ts";

Deno.test("redactConfig() replaces every secret-named key at any depth, keeps empty ones and the rest", () => {
  const input = {
    control: { adminToken: "a", servicePassword: "b", port: 8088 },
    auth: { sessionSecret: "c", enabled: true },
    edge: { adminToken: "" },
    origin: {
      apps: [{
        name: "live",
        publishKeys: ["k1"],
        streams: [{ name: "s", publishKeys: [] }],
      }],
    },
    store: { path: "", API_KEY: 5, nested: { myTokenList: [{ x: 1 }] } },
  };
  assert.deepEqual(redactConfig(input), {
    control: { adminToken: REDACTED, servicePassword: REDACTED, port: 8088 },
    auth: { sessionSecret: REDACTED, enabled: true },
    edge: { adminToken: "" },
    origin: {
      apps: [{
        name: "live",
        publishKeys: REDACTED,
        streams: [{ name: "s", publishKeys: [] }],
      }],
    },
    store: { path: "", API_KEY: REDACTED, nested: { myTokenList: REDACTED } },
  });
  // The input is not touched.
  assert.equal(input.control.adminToken, "a");
});

Deno.test("redactConfig() keeps the default config's shape", () => {
  const shown = redactConfig(DEFAULTS) as typeof DEFAULTS;
  assert.deepEqual(Object.keys(shown), Object.keys(DEFAULTS));
  assert.equal(shown.origin.httpPort, DEFAULTS.origin.httpPort);
});

Deno.test("redactConfig() hides the password of any URL value (store.url), keeping the rest", () => {
  assert.deepEqual(
    redactConfig({
      store: { url: "redis://app:hunter2@10.0.0.1:6379/0", path: "" },
      edge: { origins: [{ url: "http://127.0.0.1:8090" }] },
    }),
    {
      store: { url: `redis://app:${REDACTED}@10.0.0.1:6379/0`, path: "" },
      edge: { origins: [{ url: "http://127.0.0.1:8090" }] },
    },
  );
  assert.equal(redactConfig("rediss://:p@h"), `rediss://:${REDACTED}@h`);
});

Deno.test("redactConfig() shows keys that merely hold the word 'key' (keyframeTolerance), hides key names", () => {
  const shown = redactConfig({
    origin: { hls: { keyframeTolerance: 0.1 } },
    a: { key: "x", keys: ["y"], apiKey: "z", signing_key: "w", monkeys: 3 },
  });
  assert.deepEqual(shown, {
    origin: { hls: { keyframeTolerance: 0.1 } },
    a: {
      key: REDACTED,
      keys: REDACTED,
      apiKey: REDACTED,
      signing_key: REDACTED,
      monkeys: 3,
    },
  });
});
