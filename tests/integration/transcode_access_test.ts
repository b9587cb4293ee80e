/**
 * A transcoded stream of a token-protected app: one token use opens a session whose credential
 * covers the master, every variant and their segments (all below `/{app}/{stream}/`); without
 * it each is refused, and the app's snapshots are not served.
 */
import assert from "node:assert/strict";
import { parseMasterPlaylist } from "../../codec/hls/mod.ts";
import { hasBinary, waitFor } from "../_helpers/peers.ts";
import { withAccessOrigin } from "../origin/auth/_fixture.ts";
import { segmentUrls, TEST_PROFILES } from "./_transcode.ts";

const haveFfmpeg = await hasBinary("ffmpeg");
const demo = new URL("../../media/demo.flv", import.meta.url).pathname;

async function status(url: string): Promise<number> {
  const res = await fetch(url, { redirect: "manual" });
  await res.body?.cancel();
  return res.status;
}

Deno.test({
  name:
    "transcode access: one token use covers the master, its variants and their segments; each is refused without the credential",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withAccessOrigin({
      origin: {
        virtualLive: [{ app: "live", stream: "demo", file: demo }],
        apps: [{ name: "live", access: "token" }],
        transcode: {
          apps: [{ name: "live", start: "always", profiles: ["90p"] }],
          profiles: TEST_PROFILES,
        },
      },
    }, async (f) => {
      await waitFor(
        "the rendition",
        () => f.origin.registry.get("live", "demo_90p"),
        15_000,
      );
      assert.equal(await status(`${f.http}/live/demo.m3u8`), 401);
      const token = await f.mint("&app=live&limit=1");
      const opened = await fetch(`${f.http}/live/demo.m3u8?token=${token}`, {
        redirect: "manual",
      });
      await opened.body?.cancel();
      assert.equal(opened.status, 302);
      const masterUrl = new URL(opened.headers.get("location")!, f.http).href;
      const master = await waitFor("a master with both variants", async () => {
        const res = await fetch(masterUrl);
        const text = await res.text();
        return res.ok && parseMasterPlaylist(text).variants.length === 2 &&
          text;
      }, 15_000);
      const variants = parseMasterPlaylist(master).variants;
      for (const v of variants) {
        assert.match(v.uri, /^demo\/demo(_90p)?\.m3u8\?cred=/);
        const url = new URL(v.uri, masterUrl).href;
        const res = await fetch(url);
        const text = await res.text();
        assert.equal(res.status, 200, url);
        assert.match(res.headers.get("cache-control") ?? "", /^private/);
        const seg = segmentUrls(url, text)[0]!;
        assert.match(seg, /\/live\/demo\/demo(_90p)?\/[^/]+\.ts\?cred=/);
        assert.equal(await status(seg), 200);
        // Without the credential: refused, the playlist and the segment alike.
        assert.equal(await status(url.replace(/\?cred=.*$/, "")), 401);
        assert.equal(await status(seg.replace(/\?cred=.*$/, "")), 401);
      }
      // The token was spent once: a second session with it is refused.
      assert.equal(
        await status(`${f.http}/live/demo.m3u8?token=${token}`),
        403,
      );
      assert.equal(await status(`${f.http}/live/demo.jpg`), 403);
    });
  },
});
