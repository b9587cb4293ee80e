/**
 * Recordings with real peers: ffmpeg publishes 12 s; the admin API starts an MP4 + FLV
 * recording at once and stops it after the publish; both files play in ffprobe from the
 * library's URLs with the publish's duration (within one GOP), and a real HTTP hook gets
 * onRecordDone for each, after a refused first attempt (retried with backoff). Bad requests
 * answer 4xx with a JSON error.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import {
  type BackgroundPeer,
  hasBinary,
  publishArgs,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { probedSeconds } from "./_archive.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const ADMIN = "recording-admin-token-0123456789";
/** The publisher's GOP (s): 25 frames at 25 fps. */
const GOP_S = 1;
const PUBLISH_S = 12;

Deno.test({
  name:
    "recording: the admin API records ffmpeg's 12 s publish as MP4 and FLV that play from the library with the publish's duration (±1 GOP); onRecordDone reaches a real hook after a retry",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-recording-" });
    const hookBodies: Record<string, unknown>[] = [];
    let hookCalls = 0;
    const hook = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        hookCalls++;
        const body = await req.json();
        // The first call is refused: the delivery must come again.
        if (hookCalls === 1) return new Response("busy", { status: 503 });
        hookBodies.push(body);
        return new Response(null, { status: 204 });
      },
    );
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        adminToken: ADMIN,
        vod: { libraries: [{ path: `${dir}/lib`, prefix: "/vod/" }] },
        hooks: { onRecordDone: `http://127.0.0.1:${hook.addr.port}/done` },
        hls: { targetDurationSeconds: 1 },
      },
    });
    let origin: OriginHandle | undefined;
    let pub: BackgroundPeer | undefined;
    try {
      origin = await startOrigin(config.origin, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
        dataDir: `${dir}/data`,
      });
      const o = origin;
      const http = `http://127.0.0.1:${o.httpPort}`;
      const admin = (body: unknown) =>
        fetch(`${http}/admin/recordings`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${ADMIN}`,
            "Content-Type": "application/json",
          },
          body: JSON.stringify(body),
        });
      // Bad requests: JSON errors naming the field, nothing started.
      for (
        const [body, status, field] of [
          [{ app: "live", stream: "x", action: "start" }, 404, undefined],
          [{ app: "live", stream: "../x", action: "start" }, 400, "stream"],
          [{ app: "live", stream: "x", action: "pause" }, 400, "action"],
          [
            { app: "live", stream: "x", action: "start", formats: ["mkv"] },
            400,
            "formats",
          ],
          [{ app: "live", stream: "x", action: "stop" }, 404, undefined],
        ] as const
      ) {
        const res = await admin(body);
        assert.equal(res.status, status, JSON.stringify(body));
        const j = await res.json();
        assert.equal(typeof j.error, "string");
        assert.equal(j.field, field);
      }
      const noToken = await fetch(`${http}/admin/recordings`);
      assert.equal(noToken.status, 401);
      await noToken.body?.cancel();

      pub = startPeer(
        "ffmpeg",
        publishArgs(`rtmp://127.0.0.1:${o.rtmpPort}/live/rec`, PUBLISH_S, {
          gop: 25,
        }),
      );
      const started = await waitFor(
        "the publish, then a recording",
        async () => {
          if (!o.registry.get("live", "rec")) return undefined;
          const res = await admin({
            app: "live",
            stream: "rec",
            action: "start",
            formats: ["mp4", "flv"],
          });
          return res.status === 201
            ? await res.json()
            : (await res.body?.cancel(), undefined);
        },
        20_000,
        20,
      );
      assert.equal(started.recording.files.length, 2);
      const again = await admin({
        app: "live",
        stream: "rec",
        action: "start",
      });
      assert.equal(again.status, 409);
      await again.body?.cancel();
      // The publisher leaves: the recording ends with it.
      await pub.child.status;
      await pub.stop();
      pub = undefined;
      const listed = await waitFor(
        "both files finished",
        async () => {
          const res = await fetch(
            `${http}/admin/recordings?app=live&stream=rec`,
            {
              headers: { Authorization: `Bearer ${ADMIN}` },
            },
          );
          const j = await res.json();
          return j.active.length === 0 && j.files.length === 2 ? j : undefined;
        },
        20_000,
        100,
      );
      for (const f of listed.files) {
        assert.equal(f.state, "done");
        assert.ok(
          Math.abs(f.duration - PUBLISH_S) <= GOP_S + 0.1,
          `${f.format}: ${f.duration} s listed for a ${PUBLISH_S} s publish`,
        );
        // Each file is at once VOD: ffprobe plays it from the library's URL.
        const probed = await probedSeconds(`${http}${f.url}`);
        assert.ok(
          Math.abs(probed - PUBLISH_S) <= GOP_S + 0.1,
          `${f.format}: ffprobe ${probed} s for a ${PUBLISH_S} s publish`,
        );
      }
      // The hook: one refusal, then each file told once.
      await waitFor(
        "onRecordDone for both files",
        () => hookBodies.length === 2,
        20_000,
        50,
      );
      assert.equal(hookCalls, 3);
      const paths = hookBodies.map((b) => b.path).sort();
      assert.deepEqual(
        paths,
        listed.files.map((f: { path: string }) => f.path).sort(),
      );
      for (const b of hookBodies) {
        assert.equal(b.app, "live");
        assert.equal(b.stream, "rec");
        assert.equal(typeof b.duration, "number");
        assert.equal(typeof b.bytes, "number");
        assert.equal(typeof b.start, "string");
      }
      const metrics = await (await fetch(`${http}/metrics`)).text();
      assert.match(
        metrics,
        /meridian_origin_recording_files_total\{state="done"\} 2/,
      );
    } finally {
      await pub?.stop();
      await origin?.close();
      await hook.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
