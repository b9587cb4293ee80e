import assert from "node:assert/strict";
import { parseConfig } from "../../../config/mod.ts";
import {
  generateToken,
  importSessionKey,
  signSession,
} from "../../../access/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { AccessGate, sessionPath } from "../../../origin/auth/mod.ts";
import { OriginError } from "../../../origin/errors.ts";
import { silentLogger } from "../../../origin/log.ts";
import type { KvStore } from "../../../store/mod.ts";
import { withStore } from "../../store/_temp_store.ts";
import { waitFor } from "../../_helpers/peers.ts";
import { captureLogger } from "./_fixture.ts";

const T0 = 1_700_000_000_000;
const SECRET = "0123456789abcdef0123456789abcdef";

function originOf(raw: Record<string, unknown>) {
  return parseConfig({ origin: raw }).origin;
}

async function gateOf(
  store: KvStore | undefined,
  raw: Record<string, unknown>,
  clock: { now: number },
  extra: { metrics?: MetricsRegistry; log?: typeof silentLogger } = {},
): Promise<AccessGate> {
  return new AccessGate({ ...originOf(raw), sessionSeconds: 60 }, {
    store,
    sessionKey: await importSessionKey(SECRET),
    log: extra.log ?? silentLogger,
    now: () => clock.now,
    ...(extra.metrics ? { metrics: extra.metrics } : {}),
  });
}

async function mintIn(
  store: KvStore,
  opts: { app?: string | null; uses?: number; ttlMs?: number } = {},
): Promise<string> {
  const token = generateToken();
  await store.createToken({
    token,
    app: opts.app === undefined ? null : opts.app,
    createdAtMs: T0,
    expiresAtMs: T0 + (opts.ttlMs ?? 3600_000),
    maxUses: opts.uses ?? 0,
  });
  return token;
}

const play = (app: string, params: Record<string, string>) => ({
  app,
  stream: "cam",
  params,
  ip: "192.0.2.7",
  protocol: "flv" as const,
});

Deno.test("AccessGate.authorizePublish() checks app, stream and default publish keys", async () => {
  const gate = await gateOf(undefined, {
    apps: [{
      name: "live",
      publishKeys: ["app-key"],
      streams: [{ name: "cam1", publishKeys: ["cam-key"] }, { name: "cam2" }],
    }, { name: "free" }],
    defaultApp: { publishKeys: ["default-key"] },
  }, { now: T0 });
  const pub = (app: string, stream: string, key?: string) =>
    gate.authorizePublish({
      app,
      stream,
      params: key === undefined ? {} : { key },
      ip: "192.0.2.1",
      protocol: "rtmp",
    });
  const cases: [string, string, string | undefined, string][] = [
    ["live", "cam1", "cam-key", "ok"],
    ["live", "cam1", "app-key", "wrong_key"], // stream keys replace the app's
    ["live", "cam2", "app-key", "ok"], // a stream without keys uses the app's
    ["live", "other", "app-key", "ok"],
    ["live", "other", undefined, "missing_key"],
    ["live", "other", "", "missing_key"],
    ["live", "other", "nope", "wrong_key"],
    ["free", "x", undefined, "ok"], // listed app without keys: no key needed
    ["elsewhere", "x", "default-key", "ok"],
    ["elsewhere", "x", "app-key", "wrong_key"],
  ];
  for (const [app, stream, key, want] of cases) {
    const r = await pub(app, stream, key);
    assert.equal(r.ok ? "ok" : r.reason, want, `${app}/${stream} key=${key}`);
    if (!r.ok) assert.equal(r.status, 403);
  }
  await gate.close();
});

Deno.test("AccessGate.authorizePlay() spends token uses, scoped by app and expiry", async () => {
  await withStore(async (store) => {
    const clock = { now: T0 };
    const metrics = new MetricsRegistry();
    const { log, lines } = captureLogger();
    const gate = await gateOf(
      store,
      {
        apps: [{ name: "live", access: "token" }],
      },
      clock,
      { metrics, log },
    );
    try {
      assert.ok((await gate.authorizePlay(play("open", {}))).ok, "open app");
      const missing = await gate.authorizePlay(play("live", {}));
      assert.deepEqual(
        [missing.ok, !missing.ok && missing.status],
        [false, 401],
      );
      const junk = await gate.authorizePlay(play("live", { token: "x" }));
      assert.equal(!junk.ok && junk.reason, "malformed");
      const unknown = await gate.authorizePlay(
        play("live", { token: generateToken() }),
      );
      assert.equal(!unknown.ok && unknown.status, 403);

      const once = await mintIn(store, { uses: 1 });
      const first = await gate.authorizePlay(play("live", { token: once }));
      assert.ok(first.ok && first.subject === once);
      const second = await gate.authorizePlay(play("live", { token: once }));
      assert.equal(!second.ok && second.reason, "used_up");

      const vod = await mintIn(store, { app: "vod" });
      const wrong = await gate.authorizePlay(play("live", { token: vod }));
      assert.equal(!wrong.ok && wrong.reason, "wrong_app");

      const short = await mintIn(store, { ttlMs: 1000 });
      assert.ok((await gate.authorizePlay(play("live", { token: short }))).ok);
      clock.now = T0 + 1000;
      const late = await gate.authorizePlay(play("live", { token: short }));
      assert.equal(!late.ok && late.reason, "expired");

      // Neither logs nor metrics carry a token.
      const text = lines.join("\n") + metrics.render();
      for (const t of [once, vod, short]) assert.ok(!text.includes(t));
      assert.match(
        metrics.render(),
        /meridian_origin_access_refusals_total\{protocol="flv",reason="used_up"\} 1/,
      );
      // Two uses spent: `once` and `short` (each play that passed).
      assert.match(metrics.render(), /meridian_origin_token_spends_total 2\n/);
      assert.match(text, /"msg":"play refused".*"reason":"wrong_app"/);
    } finally {
      await gate.close();
    }
  });
});

Deno.test("AccessGate session credentials: path-scoped, expiring, unforgeable, revocable", async () => {
  await withStore(async (store) => {
    const clock = { now: T0 };
    const gate = await gateOf(store, {
      apps: [{ name: "live", access: "token" }],
    }, clock);
    try {
      const token = await mintIn(store, { uses: 1, ttlMs: 30_000 });
      const opened = await gate.openHlsSession({
        app: "live",
        stream: "cam",
        params: { token },
        ip: "192.0.2.1",
      });
      assert.ok(opened.ok);
      const cred = opened.credential;
      assert.ok(!cred.includes(token), "the token is not readable in clear");
      const check = (c: string | undefined, path: string) =>
        gate.checkCredential(c, path);
      // Playlist reloads and segments, many times, spend nothing.
      for (let i = 0; i < 3; i++) {
        assert.ok((await check(cred, sessionPath("live", "cam"))).ok);
        assert.ok((await check(cred, "/live/cam/p-1.ts")).ok);
      }
      assert.equal((await store.getToken(token))?.usesSpent, 1);

      const missing = await check(undefined, "/live/cam/p-1.ts");
      assert.equal(!missing.ok && missing.status, 401);
      for (
        const path of [
          "/live/cam2/p-1.ts",
          "/live/ca/p-1.ts",
          "/other/cam/x.ts",
        ]
      ) {
        const r = await check(cred, path);
        assert.equal(!r.ok && r.reason, "bad_credential", path);
      }
      // Forged: a valid shape signed with another key, and a tampered payload.
      const forged = await signSession({
        pathPrefix: "/live/cam/",
        expiresAtMs: T0 + 60_000,
      }, "another-secret-0123456789abcdef01");
      const tampered = cred.replace(/^./, (ch) => ch === "e" ? "f" : "e");
      for (const bad of [forged, tampered, "x.y", "garbage"]) {
        const r = await check(bad, "/live/cam/p-1.ts");
        assert.equal(!r.ok && r.status, 403, bad);
      }
      // The session never outlives the token (30 s), even with sessionSeconds 60.
      clock.now = T0 + 30_000;
      const late = await check(cred, "/live/cam/p-1.ts");
      assert.equal(!late.ok && late.reason, "expired_credential");
    } finally {
      await gate.close();
    }
  });
});

Deno.test("AccessGate: a revocation ends credentials and watched sessions", async () => {
  await withStore(async (store) => {
    const clock = { now: T0 };
    const gate = await gateOf(store, {
      defaultApp: { access: "token" },
    }, clock);
    try {
      const token = await mintIn(store);
      const grant = await gate.authorizePlay(play("live", { token }));
      assert.ok(grant.ok);
      let revoked = 0;
      gate.watch(grant.subject, () => revoked++);
      const stopped = gate.watch(grant.subject, () => revoked += 100);
      stopped();
      const opened = await gate.openHlsSession({
        app: "live",
        stream: "cam",
        params: { token },
        ip: "192.0.2.1",
      });
      assert.ok(opened.ok);
      assert.ok(
        (await gate.checkCredential(opened.credential, "/live/cam/a.ts")).ok,
      );
      await store.revokeToken(token, clock.now);
      await waitFor("revocation", () => revoked === 1, 2000);
      const r = await gate.checkCredential(opened.credential, "/live/cam/a.ts");
      assert.equal(!r.ok && r.reason, "revoked");
    } finally {
      await gate.close();
    }
  });
});

/** The gate's start-up refusal: an OriginError with its code, and the message's reason. */
function accessSetupError(reason: RegExp): (e: unknown) => boolean {
  return (e) =>
    e instanceof OriginError && e.code === "ORIGIN_ACCESS_SETUP" &&
    reason.test(e.message);
}

Deno.test("AccessGate() refuses at start-up to require tokens without a store", async () => {
  assert.throws(
    () =>
      new AccessGate({
        ...originOf({ apps: [{ name: "live", access: "token" }] }),
        sessionSeconds: 60,
      }, { log: silentLogger }),
    accessSetupError(/Cannot enforce access tokens/),
  );
  assert.throws(
    () =>
      new AccessGate({
        ...originOf({}),
        tokensEverywhere: true,
        sessionSeconds: 60,
      }, { log: silentLogger }),
    accessSetupError(/Cannot enforce access tokens/),
  );
  assert.throws(
    () =>
      new AccessGate({
        ...originOf({ hooks: { onPlay: "http://127.0.0.1:9/play" } }),
        sessionSeconds: 60,
      }, { log: silentLogger }),
    accessSetupError(/on_play hook for HLS: the origin has no session key/),
  );
  const open = new AccessGate({ ...originOf({}), sessionSeconds: 60 }, {
    log: silentLogger,
  });
  assert.equal(open.sessionRequired("live"), false);
  // Without a key there are no sessions: asking anyway is a typed error, not a TypeError.
  await assert.rejects(
    open.checkCredential("x", "/live/cam/"),
    accessSetupError(/no session key/),
  );
  await assert.rejects(
    open.openHlsSession({ app: "live", stream: "cam", params: {}, ip: "::1" }),
    accessSetupError(/no session key/),
  );
  await open.close();
});
