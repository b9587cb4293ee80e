/**
 * Access control end to end over HTTP: ffprobe and ffmpeg play HLS and HTTP-FLV from a
 * token-protected app with tokens minted by the control app; one use is one HLS session
 * (reloads and segments included); expiry, scoping, forged credentials and revocation.
 */
import assert from "node:assert/strict";
import { loadSessionKey, signSession } from "../../access/mod.ts";
import {
  hasBinary,
  probeStreams,
  runPeer,
  waitFor,
} from "../_helpers/peers.ts";
import {
  type AccessFixture,
  withAccessOrigin,
} from "../origin/auth/_fixture.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const demo = new URL("../../media/demo.flv", import.meta.url).pathname;

const config = {
  origin: {
    virtualLive: [
      { app: "live", stream: "demo", file: demo },
      { app: "free", stream: "demo", file: demo },
    ],
    apps: [{ name: "live", access: "token" }],
  },
};

function codecs(streams: { codec_name: string }[]): string[] {
  return streams.map((s) => s.codec_name).sort();
}

async function status(url: string): Promise<number> {
  const res = await fetch(url, { redirect: "manual" });
  await res.body?.cancel();
  return res.status;
}

/** Waits until the demo playlist exists (an unauthenticated request gets 401, not 404). */
async function ready(f: AccessFixture): Promise<void> {
  await waitFor("live/demo playlist", async () => {
    const s = await status(`${f.http}/live/demo.m3u8`);
    return s === 401 ? true : undefined;
  }, 15_000);
}

function counter(f: AccessFixture, labels: string): number {
  const m = f.metrics.render().match(
    new RegExp(
      `meridian_origin_http_requests_total\\{${labels}\\} (\\d+)`,
    ),
  );
  return m ? Number(m[1]) : 0;
}

Deno.test({
  name:
    "access: HLS with limit=1 plays one full session (reloads, segments), then refuses the token",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withAccessOrigin(config, async (f) => {
      await ready(f);
      // Without a token, with a junk one, with an unknown one: refused, nothing spent.
      assert.equal(await status(`${f.http}/live/demo.m3u8`), 401);
      assert.equal(await status(`${f.http}/live/demo.m3u8?token=abc`), 403);
      assert.equal(
        await status(`${f.http}/live/demo.m3u8?token=AAAAAAAAAAAAAAAA`),
        403,
      );
      // The open app still plays without a token.
      assert.equal(await status(`${f.http}/free/demo.m3u8`), 200);

      const token = await f.mint("&app=live&limit=1");
      const before = counter(f, 'kind="ts",status="200"');
      // ffmpeg plays ~8 s of the live playlist in real time: it must reload the playlist
      // (with the credential) and fetch several segments, all on one token use.
      const play = await runPeer("ffmpeg", [
        "-v",
        "error",
        "-rw_timeout",
        "10000000",
        "-i",
        `${f.http}/live/demo.m3u8?token=${token}`,
        "-t",
        "8",
        "-f",
        "null",
        "-",
      ], 40_000);
      assert.equal(play.code, 0, play.stderr);
      assert.ok(!play.stderr.includes(token));
      const reloads = counter(f, 'kind="m3u8",status="200"');
      const segments = counter(f, 'kind="ts",status="200"') - before;
      assert.ok(
        reloads >= 2,
        `playlist reloads with the credential: ${reloads}`,
      );
      assert.ok(segments >= 3, `segments fetched: ${segments}`);
      assert.equal(counter(f, 'kind="m3u8",status="302"'), 1);
      assert.equal((await f.store.getToken(token))?.usesSpent, 1);

      // A second session with the same token is refused.
      assert.equal(
        await status(`${f.http}/live/demo.m3u8?token=${token}`),
        403,
      );
      const second = await runPeer("ffprobe", [
        "-v",
        "error",
        `${f.http}/live/demo.m3u8?token=${token}`,
      ], 20_000);
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /403/);

      // Tokens never reach the logs.
      assert.ok(!f.logs.join("\n").includes(token));
    });
  },
});

Deno.test({
  name:
    "access: HTTP-FLV and HLS with a valid token play; app scoping, expiry by time, forged and expired credentials",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withAccessOrigin(config, async (f) => {
      await ready(f);
      const token = await f.mint("&app=live");
      assert.deepEqual(
        codecs(await probeStreams(`${f.http}/live/demo.flv?token=${token}`)),
        ["aac", "h264"],
      );
      assert.deepEqual(
        codecs(await probeStreams(`${f.http}/live/demo.m3u8?token=${token}`)),
        ["aac", "h264"],
      );
      assert.equal(await status(`${f.http}/live/demo.flv`), 401);

      // App scoping: a token for another app opens nothing here; an unscoped one does.
      const vod = await f.mint("&app=vod");
      assert.equal(await status(`${f.http}/live/demo.flv?token=${vod}`), 403);
      assert.equal(await status(`${f.http}/live/demo.m3u8?token=${vod}`), 403);
      const any = await f.mint("");
      assert.equal(await status(`${f.http}/live/demo.m3u8?token=${any}`), 302);

      // Expiry by time.
      const brief = await f.mint("&duration=1");
      assert.equal(
        await status(`${f.http}/live/demo.m3u8?token=${brief}`),
        302,
      );
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(
        await status(`${f.http}/live/demo.m3u8?token=${brief}`),
        403,
      );

      // The 302 carries the credential; segments need it, and only a genuine one.
      const res = await fetch(`${f.http}/live/demo.m3u8?token=${token}`, {
        redirect: "manual",
      });
      await res.body?.cancel();
      const location = res.headers.get("location")!;
      assert.match(location, /^\/live\/demo\.m3u8\?cred=[\w-]+\.[\w-]+$/);
      assert.ok(!location.includes(token));
      const playlist = await (await fetch(`${f.http}${location}`)).text();
      const segment = playlist.split("\n").find((l) =>
        l.endsWith(".ts") || l.includes(".ts?")
      )!;
      assert.match(segment, /^demo\/[\w-]+\.ts\?cred=/);
      const segUrl = `${f.http}/live/${segment}`;
      assert.equal(await status(segUrl), 200);
      const bare = segUrl.replace(/\?.*$/, "");
      assert.equal(await status(bare), 401);
      assert.equal(await status(`${bare}?token=${token}`), 401);

      const key = await loadSessionKey({ sessionSecret: "" }, f.store);
      const expired = await signSession({
        pathPrefix: "/live/demo/",
        expiresAtMs: Date.now() - 1000,
      }, key);
      const forged = await signSession({
        pathPrefix: "/live/demo/",
        expiresAtMs: Date.now() + 60_000,
      }, "not-the-origin-secret-0123456789abcdef");
      const otherStream = await signSession({
        pathPrefix: "/free/demo/",
        expiresAtMs: Date.now() + 60_000,
      }, key);
      for (const cred of [expired, forged, otherStream, "x.y"]) {
        assert.equal(await status(`${bare}?cred=${cred}`), 403, cred);
        assert.equal(
          await status(`${f.http}/live/demo.m3u8?cred=${cred}`),
          403,
        );
      }
      // Error bodies never echo what was presented.
      const body = await (await fetch(`${f.http}/live/demo.flv?token=${vod}`))
        .text();
      assert.equal(body, "Access token not valid for this app");
    });
  },
});

Deno.test({
  name:
    "access: a revoked token stops an open HTTP-FLV stream and HLS session within 1 s",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withAccessOrigin(config, async (f) => {
      await ready(f);
      const token = await f.mint("&app=live");
      const flv = await fetch(`${f.http}/live/demo.flv?token=${token}`);
      assert.equal(flv.status, 200);
      const reader = flv.body!.getReader();
      assert.ok(!(await reader.read()).done);

      const res = await fetch(`${f.http}/live/demo.m3u8?token=${token}`, {
        redirect: "manual",
      });
      await res.body?.cancel();
      const reload = `${f.http}${res.headers.get("location")}`;
      assert.equal(await status(reload), 200);

      // Revoked through the control app's own store handle, as on another node.
      const revokedAt = performance.now();
      await f.revoke(token);
      let ended = false;
      const drain = (async () => {
        try {
          while (!(await reader.read()).done) { /* media until cut off */ }
        } catch {
          // cut off with an error: also ended
        }
        ended = true;
      })();
      await waitFor("FLV stream ends", () => ended || undefined, 1500, 20);
      await drain;
      assert.ok(performance.now() - revokedAt < 1500);
      await waitFor(
        "HLS reload refused",
        async () => (await status(reload)) === 403 || undefined,
        1000,
        50,
      );
      assert.equal(await status(`${f.http}/live/demo.flv?token=${token}`), 403);
    });
  },
});
