/**
 * Hot paths of access control: the token check when the answer comes from memory, and the
 * HMAC session verify every segment request of a playback session pays.
 *
 * The "hls segment" group compares a cached HLS segment request through the origin's Hono app
 * with the session-credential check off (baseline) and on: the check must stay a small share
 * of the request (the target is under 5%).
 *
 * Run: `deno bench -A bench/token_bench.ts`
 *
 * @module
 */

import {
  checkAccess,
  checkSession,
  constantTimeEqual,
  generateToken,
  importSessionKey,
  signSession,
  verifySession,
} from "../access/mod.ts";
import { KvStore } from "../store/mod.ts";
import { parseConfig } from "../config/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { AccessGate } from "../origin/auth/mod.ts";
import { createOriginHttpApp } from "../origin/http/app.ts";
import { silentLogger } from "../origin/log.ts";
import { StreamRegistry } from "../origin/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "meridian_bench_" });
const store = await KvStore.open(`${dir}/bench.kv`, { watch: false });
const now = Date.now();
const revoked = generateToken();
await store.createToken({
  token: revoked,
  app: null,
  createdAtMs: now,
  expiresAtMs: now + 3600_000,
  maxUses: 0,
});
await store.revokeToken(revoked, now);
const live = generateToken();
await store.createToken({
  token: live,
  app: null,
  createdAtMs: now,
  expiresAtMs: now + 3600_000,
  maxUses: 0,
});

const key = await importSessionKey(generateToken(43));
const credential = await signSession({
  pathPrefix: "/live/demo",
  expiresAtMs: now + 3600_000,
  subject: live,
}, key);
const request = { path: "/live/demo/seg42.ts", nowMs: now };
const secret = generateToken(32);
const guess = generateToken(32);

Deno.bench({
  name: "checkAccess: revoked token (memory cache hit, no KV)",
  group: "token check",
  baseline: true,
  async fn() {
    await checkAccess(store, { token: revoked, app: "live", now });
  },
});

Deno.bench({
  name: "checkAccess: malformed token (no KV)",
  group: "token check",
  async fn() {
    await checkAccess(store, { token: "not-a-token", app: "live", now });
  },
});

Deno.bench({
  name: "checkAccess: spend one use (KV atomic round trip)",
  group: "token check",
  async fn() {
    await checkAccess(store, { token: live, app: "live", now });
  },
});

Deno.bench({
  name: "verifySession (imported key)",
  group: "session",
  baseline: true,
  async fn() {
    await verifySession(credential, key, request);
  },
});

Deno.bench({
  name: "checkSession (verify + revocation cache)",
  group: "session",
  async fn() {
    await checkSession(store, credential, key, request);
  },
});

Deno.bench({
  name: "constantTimeEqual (32 chars)",
  group: "compare",
  fn() {
    constantTimeEqual(guess, secret);
  },
});

// A cached segment: 1 MB of TS packets served from memory, as a live packager holds it.
const segmentBytes = new Uint8Array(188 * 5577);
const enc = { tag: (t: { data: Uint8Array }) => t.data };
function segmentApp(access: AccessGate | undefined) {
  return createOriginHttpApp({
    maxViewerQueueBytes: 1 << 20,
    playlistMaxAgeSeconds: 1,
  }, {
    registry: new StreamRegistry({
      gopCache: false,
      maxGopCacheBytes: 0,
      flushIntervalMs: 0,
      encoders: { flv: enc, rtmp: enc },
      log: silentLogger,
    }),
    hls: {
      playlist: () => undefined,
      pending: () => false,
      waitForPlaylist: () => Promise.resolve({ kind: "gone" }),
      segment: () => segmentBytes,
    },
    metrics: new MetricsRegistry(),
    assets: { page: () => "", script: () => undefined },
    log: silentLogger,
    access,
  });
}
const gate = new AccessGate({
  ...parseConfig({ origin: { apps: [{ name: "live", access: "token" }] } })
    .origin,
  sessionSeconds: 3600,
}, { store, sessionKey: key, log: silentLogger });
const appOff = segmentApp(undefined);
const appOn = segmentApp(gate);
const segmentCred = await signSession({
  pathPrefix: "/live/demo/",
  expiresAtMs: now + 3600_000,
  subject: live,
}, key);
const segmentUrl = `http://localhost/live/demo/p-42.ts?cred=${segmentCred}`;
{
  const res = await appOn.request(segmentUrl);
  if (res.status !== 200) throw new Error(`segment: ${res.status}`);
  await res.arrayBuffer();
}

Deno.bench({
  name: "AccessGate.checkCredential (seen before: map lookup, no HMAC)",
  group: "session",
  async fn() {
    await gate.checkCredential(segmentCred, "/live/demo/p-42.ts");
  },
});

Deno.bench({
  name: "cached segment, credential check off",
  group: "hls segment",
  baseline: true,
  async fn() {
    await (await appOff.request(segmentUrl)).arrayBuffer();
  },
});

Deno.bench({
  name: "cached segment, credential check on",
  group: "hls segment",
  async fn() {
    await (await appOn.request(segmentUrl)).arrayBuffer();
  },
});

globalThis.addEventListener("unload", () => {
  // Benches have no teardown hook; the store and temp dir go with the process.
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // best effort
  }
});
