/**
 * Origin redundancy through a relay: ffmpeg publishes the same stream to two origins (tee); a
 * downstream origin pulls it from the first; the first is killed (SIGKILL, a crash). Viewers of
 * the downstream stay connected: HTTP-FLV gets the sequence headers again before the new
 * upstream's media with timestamps that never go back, an RTMP player (ffmpeg) plays to the
 * end, HLS keeps its media sequence increasing with EXT-X-DISCONTINUITY at the join.
 */
import assert from "node:assert/strict";
import {
  FlvReader,
  FlvTagType,
  isVideoKeyframe,
  isVideoSequenceHeader,
} from "../../codec/flv/mod.ts";
import { parseMediaPlaylist } from "../../codec/hls/mod.ts";
import { startMain } from "../_helpers/main_process.ts";
import {
  hasBinary,
  probeStreams,
  startPeer,
  teeArgs,
  waitFor,
} from "../_helpers/peers.ts";
import { freeTcpPort } from "../_helpers/ports.ts";
import {
  relayStatus,
  startTestOrigin,
  waitListed,
} from "../origin/relay/_origins.ts";

const ignore = !(await hasBinary("ffmpeg") && await hasBinary("ffprobe"));
if (ignore) {
  console.log("relay_redundancy_test: skipped, ffmpeg/ffprobe missing");
}

interface SeenTag {
  readonly atMs: number;
  readonly type: number;
  readonly ts: number;
  readonly seqHeader: boolean;
  readonly keyframe: boolean;
}

Deno.test({
  name:
    "relay redundancy: the primary origin is killed; HTTP-FLV and RTMP viewers of the downstream stay connected, get sequence headers again, timestamps never go back; HLS marks the join and keeps numbering",
  ignore,
  fn: async () => {
    const rtmpPort = freeTcpPort();
    const httpPort = freeTcpPort();
    const primary = await startMain(
      "origin",
      {
        origin: {
          hostname: "127.0.0.1",
          rtmpPort,
          httpPort,
          virtualLive: [],
          vod: { libraries: [] },
        },
      },
      `http://127.0.0.1:${httpPort}/healthz`,
    );
    const backup = await startTestOrigin();
    const primaryUrl = `rtmp://127.0.0.1:${rtmpPort}`;
    const down = await startTestOrigin({
      upstreams: [
        { url: primaryUrl, apiUrl: `http://127.0.0.1:${httpPort}` },
        { url: backup.rtmp, apiUrl: backup.http },
      ],
      readTimeoutMs: 2000,
    });
    const pub = startPeer(
      "ffmpeg",
      teeArgs([`${primaryUrl}/live/cam`, `${backup.rtmp}/live/cam`], 60),
      90_000,
    );
    const seconds = 12;
    const player = new Deno.Command("ffmpeg", {
      args: [
        "-v",
        "error",
        "-nostdin",
        "-rw_timeout",
        "10000000",
        "-i",
        `${down.rtmp}/live/cam`,
        "-t",
        String(seconds),
        "-f",
        "null",
        "-",
        "-progress",
        "pipe:1",
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    });
    let playerChild: Deno.ChildProcess | undefined;
    let flvReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let flvDone: Promise<void> | undefined;
    let polling = true;
    let pollDone: Promise<void> | undefined;
    try {
      await waitFor(
        "both origins publishing",
        () => backup.registry.get("live", "cam"),
      );
      await waitListed(down, "live", "cam");
      // HTTP-FLV viewer: every tag with its arrival time.
      const res = await fetch(`${down.http}/live/cam.flv`);
      assert.equal(res.status, 200);
      flvReader = res.body!.getReader();
      const tags: SeenTag[] = [];
      const flv = new FlvReader();
      const reader = flvReader;
      flvDone = (async () => {
        try {
          for (;;) {
            const r = await reader.read();
            if (r.done) return;
            flv.push(r.value.slice());
            for (const t of flv.pullAll()) {
              tags.push({
                atMs: performance.now(),
                type: t.type,
                ts: t.timestampMs,
                seqHeader: (t.type === FlvTagType.Video &&
                  isVideoSequenceHeader(t.data)) ||
                  (t.type === FlvTagType.Audio && t.data[1] === 0),
                keyframe: t.type === FlvTagType.Video &&
                  isVideoKeyframe(t.data) && !isVideoSequenceHeader(t.data),
              });
            }
          }
        } catch {
          // cancelled at the end
        }
      })();
      // HLS: the downstream's playlist as a player would reload it.
      const playlists: ReturnType<typeof parseMediaPlaylist>[] = [];
      pollDone = (async () => {
        while (polling) {
          const r = await fetch(`${down.http}/live/cam.m3u8`).catch(() =>
            undefined
          );
          if (r?.status === 200) {
            playlists.push(parseMediaPlaylist(await r.text()));
          } else await r?.body?.cancel();
          await new Promise((r) => setTimeout(r, 400));
        }
      })();
      playerChild = player.spawn();
      let progress = "";
      const progressDone = (async () => {
        for await (
          const text of playerChild!.stdout.pipeThrough(new TextDecoderStream())
        ) progress += text;
      })();
      const stderr = new Response(playerChild.stderr).text();
      const played = () =>
        Math.max(
          0,
          ...[...progress.matchAll(/out_time_us=(\d+)/g)].map((m) =>
            Number(m[1]) / 1e6
          ),
        );
      await waitFor("the RTMP player to play 3 s", () => played() >= 3, 20_000);
      await waitFor("a first HLS segment", () => playlists.length > 0, 15_000);
      assert.equal((await relayStatus(down)).pulls[0]!.upstream, primaryUrl);

      const killedAt = performance.now();
      await primary.kill("SIGKILL");
      await waitFor(
        "the switch to the backup",
        async () => {
          const p = (await relayStatus(down)).pulls[0];
          return p?.upstream === backup.rtmp && p.switches === 1;
        },
        15_000,
        50,
      );
      const switchedMs = performance.now() - killedAt;
      console.log(
        `relay failover: switched upstream ${
          Math.round(switchedMs)
        } ms after SIGKILL`,
      );

      // The RTMP player plays to its end, never cut.
      const status = await playerChild.status;
      await progressDone;
      assert.equal(status.code, 0, await stderr);
      assert.ok(played() >= seconds - 0.5, `stopped at ${played()} s`);

      // HTTP-FLV: still connected and fed after the switch; the new upstream's sequence
      // headers come before its first keyframe; per track, time never goes back.
      await waitFor(
        "FLV tags from the backup",
        () => tags.some((t) => t.atMs > killedAt + switchedMs + 1000),
      );
      const after = tags.filter((t) => t.atMs > killedAt);
      const firstKey = after.findIndex((t) => t.keyframe);
      const seqBefore = after.slice(0, firstKey).filter((t) =>
        t.seqHeader && t.type === FlvTagType.Video
      );
      assert.ok(firstKey >= 0, "a keyframe after the switch");
      assert.equal(
        seqBefore.length,
        1,
        "the AVC sequence header again, before it",
      );
      for (const type of [FlvTagType.Audio, FlvTagType.Video]) {
        const ts = tags.filter((t) => t.type === type).map((t) => t.ts);
        for (let i = 1; i < ts.length; i++) {
          assert.ok(
            ts[i]! >= ts[i - 1]!,
            `type ${type}: ${ts[i - 1]} then ${ts[i]}`,
          );
        }
      }

      // HLS: let it add segments from the backup, then check the numbering and the join.
      const countAtSwitch = playlists.length;
      await waitFor(
        "HLS segments after the join",
        () =>
          playlists.length > countAtSwitch + 4 &&
          playlists.at(-1)!.segments.some((s) => s.discontinuity),
        20_000,
      );
      for (let i = 1; i < playlists.length; i++) {
        assert.ok(
          playlists[i]!.mediaSequence >= playlists[i - 1]!.mediaSequence,
          `media sequence went back: ${playlists[i - 1]!.mediaSequence} then ${
            playlists[i]!.mediaSequence
          }`,
        );
      }
      const last = playlists.at(-1)!;
      assert.equal(last.ended, false);
      assert.equal(last.segments.filter((s) => s.discontinuity).length, 1);
      const streams = await probeStreams(`${down.http}/live/cam.m3u8`);
      assert.deepEqual(streams.map((s) => s.codec_name).sort(), [
        "aac",
        "h264",
      ]);
    } finally {
      polling = false;
      await pollDone;
      await flvReader?.cancel().catch(() => {});
      await flvDone;
      try {
        playerChild?.kill("SIGKILL");
      } catch {
        // exited
      }
      await playerChild?.status;
      await pub.stop();
      await down.close();
      await backup.close();
      await primary.kill();
      await Deno.remove(primary.dir, { recursive: true }).catch(() => {});
    }
  },
});
