/**
 * A protected library: a token opens one playback session of one file (302 to a session
 * credential), the credential covers the playlist, its segments and byte ranges of the file
 * without spending more uses, and does not open another file.
 */
import assert from "node:assert/strict";
import { hasBinary, runPeer } from "../_helpers/peers.ts";
import { withAccessOrigin } from "../origin/auth/_fixture.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

Deno.test({
  name:
    "vod access: a limit=1 token buys one session of one file: playlist, segments and ranges with its credential, nothing else",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-vodacc-" });
    try {
      const made = await runPeer("ffmpeg", [
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine",
        "-t",
        "6",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "50",
        "-c:a",
        "aac",
        `${dir}/a.mp4`,
      ]);
      assert.equal(made.code, 0, made.stderr);
      await Deno.copyFile(`${dir}/a.mp4`, `${dir}/b.mp4`);
      await withAccessOrigin({
        origin: {
          virtualLive: [],
          apps: [{ name: "vod", access: "token" }],
          vod: { libraries: [{ path: dir, prefix: "/vod/" }] },
        },
      }, async (f) => {
        const get = (u: string, init: RequestInit = {}) =>
          fetch(`${f.http}${u}`, { redirect: "manual", ...init });
        const status = async (u: string, init?: RequestInit) => {
          const r = await get(u, init);
          await r.body?.cancel();
          return r.status;
        };
        assert.equal(await status("/vod/a.mp4"), 401);
        assert.equal(await status("/vod/a.m3u8"), 401);
        assert.equal(await status("/vod/a.mp4?token=AAAAAAAAAAAAAAAA"), 403);
        const token = await f.mint("&limit=1&app=vod");
        const first = await get(`/vod/a.mp4.m3u8?token=${token}&start=2`);
        assert.equal(first.status, 302);
        const location = first.headers.get("location")!;
        assert.match(location, /^\/vod\/a\.mp4\.m3u8\?start=2&cred=/);
        assert.ok(!location.includes(token));
        const cred = new URL(location, f.http).searchParams.get("cred")!;
        // The token is spent: a second session is refused.
        assert.equal(await status(`/vod/a.mp4?token=${token}`), 403);
        // The credential opens the playlist (its segments carry it), segments, the file's
        // progressive outputs and byte ranges, HEAD: nothing more is spent.
        const pl = await get(location);
        assert.equal(pl.status, 200);
        const text = await pl.text();
        const seg = /^(a\.mp4\/0\.ts\?cred=.+)$/m.exec(text)![1]!;
        assert.equal(await status(`/vod/${seg}`), 200);
        const q = `cred=${encodeURIComponent(cred)}`;
        assert.equal(
          await status(`/vod/a.mp4?${q}`, { headers: { Range: "bytes=0-99" } }),
          206,
        );
        assert.equal(await status(`/vod/a.flv?${q}&start=3`), 200);
        assert.equal(await status(`/vod/a.mp4?${q}`, { method: "HEAD" }), 200);
        const probe = await runPeer("ffprobe", [
          "-v",
          "error",
          "-show_entries",
          "stream=codec_name",
          "-of",
          "csv=p=0",
          `${f.http}/vod/a.mp4?${q}`,
        ]);
        assert.deepEqual(probe.stdout.trim().split("\n").sort(), [
          "aac",
          "h264",
        ]);
        // It opens this file only.
        assert.equal(await status(`/vod/b.mp4?${q}`), 403);
        assert.equal(await status(`/vod/b.mp4/0.ts?${q}`), 403);
        assert.equal(await status(`/vod/a.mp4?cred=junk`), 403);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
