/**
 * Access control end to end over RTMP: ffmpeg publishes with right and wrong publish keys;
 * ffprobe and ffmpeg play with `?token=` after the app (tcUrl) or on the stream name; a
 * revocation closes an open RTMP play.
 */
import assert from "node:assert/strict";
import {
  hasBinary,
  probeStreams,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { withAccessOrigin } from "../origin/auth/_fixture.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const demo = new URL("../../media/demo.flv", import.meta.url).pathname;

function codecs(streams: { codec_name: string }[]): string[] {
  return streams.map((s) => s.codec_name).sort();
}

Deno.test({
  name:
    "access: RTMP publish with the right key streams; a wrong or missing key is refused with one log line",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withAccessOrigin({
      origin: {
        apps: [{
          name: "live",
          publishKeys: ["app-key-1"],
          streams: [{ name: "cam", publishKeys: ["cam-key-1"] }],
        }],
      },
    }, async (f) => {
      // Wrong and missing keys: ffmpeg fails fast with the server's description.
      for (
        const [url, text] of [
          [`${f.rtmp}/live/cam?key=app-key-1`, "Publish key wrong"],
          [`${f.rtmp}/live/cam`, "Publish key required"],
          [`${f.rtmp}/live?key=nope/other`, "Publish key wrong"],
        ] as const
      ) {
        const lines = f.logs.length;
        const out = await runPeer(
          "ffmpeg",
          publishArgs(url, 3, { realtime: false }),
          20_000,
        );
        assert.notEqual(out.code, 0, url);
        assert.match(out.stderr, new RegExp(text), url);
        const refused = f.logs.slice(lines).filter((l) =>
          l.includes('"msg":"publish refused"')
        );
        assert.equal(refused.length, 1, refused.join("\n"));
        assert.match(refused[0]!, /"reason":"(wrong|missing)_key"/);
      }
      assert.equal(f.origin.registry.size, 0);

      // The right key, on the stream name (OBS) or after the app in the tcUrl.
      for (
        const [url, stream] of [
          [`${f.rtmp}/live/cam?key=cam-key-1`, "cam"],
          [`${f.rtmp}/live?key=app-key-1/other`, "other"],
        ] as const
      ) {
        const pub = startPeer("ffmpeg", publishArgs(url, 20));
        try {
          await waitFor(
            `live/${stream} publishing`,
            () => f.origin.registry.get("live", stream)?.live || undefined,
            15_000,
          );
          assert.deepEqual(
            codecs(await probeStreams(`${f.http}/live/${stream}.flv`)),
            ["aac", "h264"],
          );
        } finally {
          await pub.stop();
        }
      }
      const all = f.logs.join("\n");
      for (const k of ["cam-key-1", "app-key-1", "nope"]) {
        assert.ok(!all.includes(k), `key ${k} logged`);
      }
    });
  },
});

Deno.test({
  name:
    "access: RTMP play needs a token, in the tcUrl or on the stream name; revocation closes the play",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withAccessOrigin({
      origin: {
        virtualLive: [{ app: "live", stream: "demo", file: demo }],
        apps: [{ name: "live", access: "token" }],
      },
    }, async (f) => {
      await waitFor(
        "demo live",
        () => f.origin.registry.get("live", "demo")?.live || undefined,
      );
      const refused = await runPeer("ffprobe", [
        "-v",
        "error",
        `${f.rtmp}/live/demo`,
      ], 20_000);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Access token required/);
      const vod = await f.mint("&app=vod");
      const scoped = await runPeer("ffprobe", [
        "-v",
        "error",
        `${f.rtmp}/live/demo?token=${vod}`,
      ], 20_000);
      assert.notEqual(scoped.code, 0);
      assert.match(scoped.stderr, /not valid for this app/);

      const once = await f.mint("&app=live&limit=1");
      assert.deepEqual(
        codecs(await probeStreams(`${f.rtmp}/live/demo?token=${once}`)),
        ["aac", "h264"],
      );
      const again = await runPeer("ffprobe", [
        "-v",
        "error",
        `${f.rtmp}/live/demo?token=${once}`,
      ], 20_000);
      assert.match(again.stderr, /no uses left/);
      const inTcUrl = await f.mint("&app=live");
      assert.deepEqual(
        codecs(await probeStreams(`${f.rtmp}/live?token=${inTcUrl}/demo`)),
        ["aac", "h264"],
      );

      // An open RTMP play ends within about a second of a revocation on another node.
      const token = await f.mint("&app=live");
      const player = startPeer("ffmpeg", [
        "-v",
        "error",
        "-i",
        `${f.rtmp}/live/demo?token=${token}`,
        "-f",
        "null",
        "-",
      ], 30_000);
      let exited = false;
      const status = player.child.status.then(() => exited = true);
      try {
        await waitFor(
          "RTMP viewer",
          () =>
            f.origin.registry.get("live", "demo")!.viewerCount > 0 || undefined,
          10_000,
        );
        const revokedAt = performance.now();
        await f.revoke(token);
        await waitFor(
          "viewer closed",
          () =>
            f.origin.registry.get("live", "demo")!.viewerCount === 0 ||
            undefined,
          1500,
          20,
        );
        assert.ok(performance.now() - revokedAt < 1500);
        await waitFor("ffmpeg exits", () => exited || undefined, 10_000);
      } finally {
        await player.stop();
        await status;
      }
      assert.ok(!f.logs.join("\n").includes(token));
    });
  },
});
