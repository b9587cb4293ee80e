/**
 * Config edits through the admin API, in process with a recording `settings`: every bad key of
 * an edit named at once and nothing applied, secrets left `[redacted]` kept, a valid section
 * applied with what restarted, publish keys set write-only, read-only without settings.
 */
import assert from "node:assert/strict";
import {
  DEFAULTS,
  type MeridianConfig,
  parseConfig,
} from "../../config/mod.ts";
import { createControlApp, REDACTED } from "../../control/mod.ts";
import { checkSectionEdit, unredact } from "../../control/settings.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { withStore } from "../store/_temp_store.ts";

const ADMIN_TOKEN = "settings-admin-token-0123456789";
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

Deno.test("checkSectionEdit() names every bad key of an edit, not only the first", () => {
  const r = checkSectionEdit(DEFAULTS, "origin", {
    ...structuredClone(DEFAULTS.origin),
    maxStreams: "many",
    hls: { ...DEFAULTS.origin.hls, windowSegments: 1 },
    rtmp: { ...DEFAULTS.origin.rtmp, outChunkSize: 1 << 20 },
  });
  assert.equal(r.ok, false);
  const keys = !r.ok ? r.problems.map((p) => p.key).sort() : [];
  assert.deepEqual(keys, [
    "origin.hls.windowSegments",
    "origin.maxStreams",
    "origin.rtmp.outChunkSize",
  ]);
  const msg = !r.ok
    ? r.problems.find((p) => p.key === "origin.maxStreams")!.message
    : "";
  assert.equal(
    msg,
    `Invalid config 'origin.maxStreams': got "many", expected a number`,
  );
});

Deno.test("checkSectionEdit() refuses unknown sections, unknown keys and non-maps", () => {
  for (
    const [section, body, key] of [
      ["nope", {}, "nope"],
      ["dataDir", {}, "dataDir"],
      ["log", [], "log"],
      ["log", { level: "info", format: "auto", colour: true }, "log.colour"],
    ] as const
  ) {
    const r = checkSectionEdit(DEFAULTS, section, body);
    assert.equal(r.ok, false, section);
    if (!r.ok) assert.equal(r.problems[0]!.key, key);
  }
});

Deno.test("checkSectionEdit() accepts changes valid only together (a channel's file for its playlist)", () => {
  const current = parseConfig({
    origin: { virtualLive: [{ app: "live", stream: "x", file: "a.flv" }] },
  });
  const r = checkSectionEdit(current, "origin", {
    ...structuredClone(current.origin),
    virtualLive: [{
      ...current.origin.virtualLive[0],
      file: "",
      playlist: ["b.flv"],
    }],
  });
  assert.equal(r.ok, true);
  if (r.ok) {
    assert.deepEqual(r.config.origin.virtualLive[0]!.playlist, ["b.flv"]);
  }
});

Deno.test("unredact() keeps secrets the operator left hidden, takes the ones typed", () => {
  assert.deepEqual(
    unredact(
      {
        adminToken: REDACTED,
        apps: [{ publishKeys: REDACTED }, { publishKeys: ["new"] }],
      },
      {
        adminToken: "old-token",
        apps: [{ publishKeys: ["k1"] }, { publishKeys: ["k2"] }],
      },
    ),
    {
      adminToken: "old-token",
      apps: [{ publishKeys: ["k1"] }, { publishKeys: ["new"] }],
    },
  );
});

function withSettingsApp(
  fn: (
    request: (path: string, init?: RequestInit) => Promise<Response>,
    state: { current: MeridianConfig; applied: MeridianConfig[] },
  ) => Promise<void>,
  editable = true,
) {
  return withStore(async (store) => {
    const state = {
      current: parseConfig({
        control: { adminToken: ADMIN_TOKEN },
        origin: { apps: [{ name: "live", publishKeys: ["secret-key-1"] }] },
      }),
      applied: [] as MeridianConfig[],
    };
    const app = createControlApp({
      servicePassword: "settings-service-pw",
      adminToken: ADMIN_TOKEN,
      defaultTokenDurationSeconds: 3600,
      defaultTokenUses: 0,
      lockout: { maxFailures: 5, windowSeconds: 60, lockSeconds: 300 },
    }, {
      store,
      metrics: new MetricsRegistry(),
      log: silentLogger,
      ...(editable
        ? {
          settings: {
            current: () => state.current,
            apply: (next: MeridianConfig) => {
              state.applied.push(next);
              state.current = next;
              return Promise.resolve({
                restarted: ["origin", "edge"],
                deferred: [],
              });
            },
          },
        }
        : { config: state.current }),
    });
    await fn(
      (path, init) =>
        Promise.resolve(app.request(`http://localhost${path}`, init)),
      state,
    );
  });
}

const put = (body: unknown): RequestInit => ({
  method: "PUT",
  headers: { ...auth, "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

Deno.test("PUT /admin/config/{section}: bad keys are 400 with each key's error and nothing applies", async () => {
  await withSettingsApp(async (request, state) => {
    const shown = await (await request("/admin/config", { headers: auth }))
      .json();
    assert.equal(shown.editable, true);
    const origin = shown.config.origin;
    const res = await request(
      "/admin/config/origin",
      put({
        ...origin,
        hls: { ...origin.hls, windowSegments: 0 },
        httpServer: "nginx",
      }),
    );
    assert.equal(res.status, 400);
    const { errors } = await res.json();
    assert.deepEqual(errors.map((e: { key: string }) => e.key).sort(), [
      "origin.hls.windowSegments",
      "origin.httpServer",
    ]);
    assert.equal(state.applied.length, 0);
  });
});

Deno.test("PUT /admin/config/{section}: a valid section applies, hidden secrets unchanged", async () => {
  await withSettingsApp(async (request, state) => {
    const shown =
      (await (await request("/admin/config", { headers: auth })).json()).config;
    assert.equal(shown.origin.apps[0].publishKeys, REDACTED);
    const res = await request(
      "/admin/config/origin",
      put({ ...shown.origin, hls: { ...shown.origin.hls, windowSegments: 9 } }),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      applied: true,
      restarted: ["origin", "edge"],
      deferred: [],
      persisted: false,
    });
    assert.equal(state.applied.length, 1);
    assert.equal(state.current.origin.hls.windowSegments, 9);
    assert.deepEqual(state.current.origin.apps[0]!.publishKeys, [
      "secret-key-1",
    ]);
    assert.equal(state.current.control.adminToken, ADMIN_TOKEN);
  });
});

Deno.test("PUT /admin/apps/{app}/publish-keys sets keys (a new app too), never shows them back", async () => {
  await withSettingsApp(async (request, state) => {
    let res = await request(
      "/admin/apps/games/publish-keys",
      put({ keys: ["k-games-01"] }),
    );
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual(
      state.current.origin.apps.map((a) => [a.name, a.publishKeys]),
      [["live", ["secret-key-1"]], ["games", ["k-games-01"]]],
    );
    res = await request("/admin/apps/live/publish-keys", put({ keys: [""] }));
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(await res.json()), /publishKeys\[0\]/);
    res = await request("/admin/apps/live/publish-keys", put({ keys: "k" }));
    assert.equal(res.status, 400);
    await res.body?.cancel();
    const shown = await (await request("/admin/config", { headers: auth }))
      .text();
    assert.ok(!shown.includes("k-games-01"));
  });
});

Deno.test("without settings the config is read-only: GET works, PUT is 501", async () => {
  await withSettingsApp(async (request) => {
    const shown = await (await request("/admin/config", { headers: auth }))
      .json();
    assert.equal(shown.editable, false);
    const res = await request(
      "/admin/config/log",
      put({ level: "debug", format: "json" }),
    );
    assert.equal(res.status, 501);
    await res.body?.cancel();
  }, false);
});
