/**
 * Hot paths of access control: the token check when the answer comes from memory, and the
 * HMAC session verify every segment request of a playback session pays.
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
} from "../control/tokens/mod.ts";
import { KvStore } from "../store/mod.ts";

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

globalThis.addEventListener("unload", () => {
  // Benches have no teardown hook; the store and temp dir go with the process.
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // best effort
  }
});
