/**
 * A rendition's ffmpeg killed with SIGKILL: it is back within the backoff, its viewers stay
 * connected, and the source and the other rendition never stall (viewers of each read on, and
 * ffprobe decodes each, through the kill).
 */
import assert from "node:assert/strict";
import { hasBinary, runPeer, waitFor } from "../_helpers/peers.ts";
import {
  publishSource,
  renditionsOf,
  startTranscodingOrigin,
  watchFlv,
} from "./_transcode.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const BACKOFF_S = 1;

/** ffprobe's video packet times of `seconds` of a live HTTP-FLV stream. */
function probeFlv(url: string, seconds: number) {
  return runPeer("ffprobe", [
    "-v",
    "error",
    "-read_intervals",
    `%+${seconds}`,
    "-select_streams",
    "v:0",
    "-show_entries",
    "packet=pts_time",
    "-of",
    "csv=p=0",
    url,
  ], 30_000);
}

Deno.test({
  name:
    "transcode restart: kill -9 of a rendition's ffmpeg → back within the backoff; its viewer stays; the source and the other rendition never stall",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, http } = await startTranscodingOrigin({
      apps: [{ name: "live", start: "always", profiles: ["144p", "90p"] }],
      restartBackoffSeconds: BACKOFF_S,
    });
    const pub = publishSource(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`);
    const watches: Awaited<ReturnType<typeof watchFlv>>[] = [];
    try {
      const running = await waitFor("both renditions running", async () => {
        const r = await renditionsOf(http, "cam");
        return r.length === 2 && r.every((x) => x.state === "running") &&
          origin.registry.get("live", "cam_144p") && r;
      }, 20_000);
      const killed = running.find((r) => r.stream === "cam_144p")!;
      const [source, other, victim] = await Promise.all([
        watchFlv(`${http}/live/cam.flv`),
        watchFlv(`${http}/live/cam_90p.flv`),
        watchFlv(`${http}/live/cam_144p.flv`),
      ]);
      watches.push(source, other, victim);
      const probes = [
        probeFlv(`${http}/live/cam.flv`, 7),
        probeFlv(`${http}/live/cam_90p.flv`, 7),
      ];
      await waitFor(
        "frames on every viewer",
        () => watches.every((w) => w.arrivals.length > 10),
      );

      const killedAt = Date.now();
      Deno.kill(killed.pid!, "SIGKILL");
      const back = await waitFor("the rendition back", async () => {
        const r = (await renditionsOf(http, "cam")).find((x) =>
          x.stream === "cam_144p"
        );
        return r?.state === "running" && r.restarts === 1 &&
          r.pid !== killed.pid && r;
      }, 15_000);
      // Frames reach the rendition's viewer again, after what it had (no going back).
      const seen = victim.arrivals.length;
      await waitFor(
        "new frames of the restarted rendition",
        () => victim.arrivals.length > seen + 5,
      );
      const backMs = victim.arrivals.find((a) =>
        a.atMs > killedAt + 100
      )!.atMs - killedAt;
      assert.ok(backMs < BACKOFF_S * 1000 + 5_000, `back after ${backMs} ms`);
      for (let i = 1; i < victim.arrivals.length; i++) {
        assert.ok(
          victim.arrivals[i]!.timestampMs >=
            victim.arrivals[i - 1]!.timestampMs,
        );
      }
      assert.match(back.error ?? "", /ffmpeg killed by SIGKILL after [\d.]+ s/);

      for (const out of await Promise.all(probes)) {
        assert.equal(out.code, 0, out.stderr);
        const pts = out.stdout.trim().split("\n").map(Number);
        assert.ok(pts.length > 60, `${pts.length} packets`);
        for (let i = 1; i < pts.length; i++) {
          assert.ok(
            pts[i]! - pts[i - 1]! < 0.2,
            `a gap in the media at ${pts[i - 1]}`,
          );
        }
      }
      // No wall-clock stall of the source or the other rendition through the kill.
      assert.ok(
        source.maxGapMs() < 1_000,
        `source stalled ${source.maxGapMs()} ms`,
      );
      assert.ok(
        other.maxGapMs() < 1_000,
        `other rendition stalled ${other.maxGapMs()} ms`,
      );
      assert.ok(source.arrivals.at(-1)!.atMs > killedAt + 2_000);
      assert.match(
        metrics.render(),
        /meridian_origin_transcode_crashes_total\{reason="killed"\} 1/,
      );
    } finally {
      for (const w of watches) await w.stop();
      await pub.stop();
      await origin.close();
    }
  },
});
