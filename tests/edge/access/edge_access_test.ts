/**
 * EdgeAccess decisions (credentials verified locally, token uses spent in a real KV store) and
 * the credential-free playlists it caches.
 */
import assert from "node:assert/strict";
import {
  credentialPathOf,
  signSession,
  withSessionCredential,
} from "../../../access/mod.ts";
import {
  type AccessMark,
  EdgeAccess,
  withoutSessionCredential,
} from "../../../edge/access/mod.ts";
import { silentLogger } from "../../../log/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { ManualClock } from "../_helpers/fixtures.ts";
import { mint, withKeyStore } from "./_store.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("withoutSessionCredential() strips what withSessionCredential() adds", () => {
  const bare =
    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\ncam/a-1.ts\r\n#EXTINF:2,\ncam/a-2.ts?x=1\n";
  const withCred = withSessionCredential(bare, "P.M");
  assert.notEqual(withCred, bare);
  assert.equal(
    dec.decode(withoutSessionCredential(enc.encode(withCred))),
    bare,
  );
  // No credential: the same bytes back, no copy.
  const b = enc.encode(bare);
  assert.equal(withoutSessionCredential(b), b);
});

Deno.test("credentialPathOf() checks a playlist as its stream's session path", () => {
  assert.equal(credentialPathOf("/live/cam.m3u8"), "/live/cam/");
  assert.equal(credentialPathOf("/live/cam/s-1.ts"), "/live/cam/s-1.ts/");
  assert.equal(credentialPathOf("/vod/a.mp4"), "/vod/a.mp4/");
});

Deno.test("EdgeAccess.authorizeObject() allows genuine credentials only, with no store round trip", () =>
  withKeyStore(async (store, key) => {
    const clock = new ManualClock();
    const metrics = new MetricsRegistry();
    // Any store round trip fails the test: only memory (revocations, feed) may be used.
    const memoryOnly = new Proxy(store, {
      get(target, prop) {
        if (prop === "spendTokenUse" || prop === "getToken") {
          return () => {
            throw new Error(`store round trip: ${String(prop)}`);
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const access = new EdgeAccess({
      store: memoryOnly,
      sessionKey: key,
      log: silentLogger,
      metrics,
      now: clock.now,
    });
    try {
      const good = await signSession({
        pathPrefix: "/live/cam/",
        expiresAtMs: clock.nowMs + 10_000,
        subject: "AbCdEfGh12345678",
      }, key);
      const u = (p: string) => new URL(`http://edge${p}`);
      const verdict = async (p: string, mark: AccessMark = "token") => {
        const v = await access.authorizeObject(u(p), mark);
        return v.kind === "refuse" ? v.refusal.status : v.kind;
      };
      assert.equal(await verdict(`/live/cam/s-1.ts?cred=${good}`), "allow");
      assert.equal(await verdict(`/live/cam.m3u8?cred=${good}`), "allow");
      assert.equal(await verdict("/live/cam/s-1.ts"), 401);
      assert.equal(
        await verdict("/live/cam/s-1.ts?token=AbCdEfGh12345678"),
        401,
      );
      assert.equal(await verdict("/live/cam.m3u8"), 401);
      assert.equal(await verdict("/live/cam.m3u8", "session"), "forward");
      assert.equal(
        await verdict("/live/cam.m3u8?token=AbCdEfGh12345678"),
        "forward",
      );
      // Another stream, a forged MAC, garbage.
      assert.equal(await verdict(`/live/cam2/s-1.ts?cred=${good}`), 403);
      assert.equal(await verdict(`/live/cam2.m3u8?cred=${good}`), 403);
      const forged = await signSession({
        pathPrefix: "/live/cam/",
        expiresAtMs: clock.nowMs + 10_000,
      }, "another-secret-0123456789abcdef-0123");
      assert.equal(await verdict(`/live/cam/s-1.ts?cred=${forged}`), 403);
      assert.equal(await verdict("/live/cam/s-1.ts?cred=x.y"), 403);
      // Expiry is checked on every use, remembered credential or not.
      clock.advance(10_000);
      assert.equal(await verdict(`/live/cam/s-1.ts?cred=${good}`), 403);
      assert.match(
        metrics.render(),
        /meridian_edge_access_refusals_total\{protocol="hls",reason="missing_credential"\} 2/,
      );
    } finally {
      access.close();
    }
  }));

Deno.test("EdgeAccess: a revoked token's credential is refused and its watchers are told", () =>
  withKeyStore(async (store, key) => {
    const access = new EdgeAccess({
      store,
      sessionKey: key,
      log: silentLogger,
    });
    try {
      const token = await mint(
        store,
        "RevokeMe12345678",
        "live",
        0,
        Date.now(),
      );
      const cred = await signSession({
        pathPrefix: "/live/cam/",
        expiresAtMs: Date.now() + 60_000,
        subject: token,
      }, key);
      const url = new URL(`http://edge/live/cam/s-1.ts?cred=${cred}`);
      assert.equal((await access.authorizeObject(url, "token")).kind, "allow");
      let told = 0;
      access.watch(token, () => told++);
      await store.revokeToken(token, Date.now());
      const deadline = Date.now() + 2_000;
      while (told === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(told, 1);
      const v = await access.authorizeObject(url, "token");
      assert.equal(v.kind === "refuse" && v.refusal.reason, "revoked");
    } finally {
      access.close();
    }
  }));

Deno.test("EdgeAccess.authorizeJoin() spends one use per viewer, scoped to the app", () =>
  withKeyStore(async (store, key) => {
    const metrics = new MetricsRegistry();
    const access = new EdgeAccess({
      store,
      sessionKey: key,
      log: silentLogger,
      metrics,
    });
    try {
      const now = Date.now();
      const once = await mint(store, "OnceOnly12345678", "live", 1, now);
      const other = await mint(store, "OtherApp12345678", "vod", 0, now);
      const join = async (q: string) => {
        const r = await access.authorizeJoin(
          new URL(`http://edge/live/cam.flv${q}`),
          "token",
        );
        return r.ok ? "ok" : `${r.status} ${r.reason}`;
      };
      assert.equal(await join(""), "401 missing");
      assert.equal(await join("?token=junk"), "403 malformed");
      assert.equal(await join(`?token=${other}`), "403 wrong_app");
      assert.equal(await join(`?token=${once}`), "ok");
      assert.equal(await join(`?token=${once}`), "403 used_up");
      assert.equal((await store.getToken(once))?.usesSpent, 1);
      assert.equal((await store.getToken(other))?.usesSpent, 0);
      assert.match(metrics.render(), /meridian_edge_token_spends_total 1\n/);
      // A `session` mark (hook-gated HLS) asks for no token.
      const r = await access.authorizeJoin(
        new URL("http://edge/live/cam.flv"),
        "session",
      );
      assert.ok(r.ok);
    } finally {
      access.close();
    }
  }));
