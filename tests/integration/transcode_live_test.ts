/**
 * Live ABR end to end: ffmpeg publishes a 320x180 source; the origin runs one ffmpeg child per
 * rendition and serves a master playlist. ffprobe checks each rendition's size and bit rate,
 * that segments of every variant start on the same timestamps, and that the master's URIs and
 * CODECS match what ffprobe reads.
 */
import assert from "node:assert/strict";
import {
  parseMasterPlaylist,
  parseMediaPlaylist,
} from "../../codec/hls/mod.ts";
import { parseCodecs } from "../../codec/rfc6381/mod.ts";
import { hasBinary, probeStreams, waitFor } from "../_helpers/peers.ts";
import {
  probeSegmentVideo,
  publishSource,
  segmentUrls,
  startTranscodingOrigin,
} from "./_transcode.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

/** H.264 profile_idc as ffprobe names it. */
const AVC_PROFILE_NAMES: Record<number, RegExp> = {
  66: /Baseline/,
  77: /^Main$/,
  100: /^High$/,
};

Deno.test({
  name:
    "transcode live: renditions at their sizes and bit rates (±15 %), segments on the same timestamps, a master whose URIs resolve and whose CODECS match ffprobe; a larger profile skipped",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, http } = await startTranscodingOrigin();
    const pub = publishSource(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`);
    try {
      // Every variant with three segments: the first may hold x264's start-up.
      const master = await waitFor("a master with every variant", async () => {
        const res = await fetch(`${http}/live/cam.m3u8`);
        const text = await res.text();
        if (!res.ok) return undefined;
        const m = parseMasterPlaylist(text);
        if (m.variants.length < 4) return undefined;
        for (const v of m.variants) {
          const p = await fetch(new URL(v.uri, `${http}/live/cam.m3u8`));
          const body = await p.text();
          if (!p.ok || parseMediaPlaylist(body).segments.length < 4) {
            return undefined;
          }
        }
        return { text, m, headers: res.headers };
      }, 25_000);
      assert.equal(
        master.headers.get("content-type"),
        "application/vnd.apple.mpegurl",
      );
      assert.match(master.headers.get("cache-control") ?? "", /max-age=1/);
      assert.equal(master.m.independentSegments, true);
      assert.deepEqual(master.m.variants.map((v) => v.uri), [
        "cam/cam.m3u8",
        "cam/cam_144p.m3u8",
        "cam/cam_90p.m3u8",
        "cam/cam_audio.m3u8",
      ]);

      const starts = new Map<string, number[]>();
      for (const v of master.m.variants) {
        const playlistUrl = new URL(v.uri, `${http}/live/cam.m3u8`).href;
        // CODECS and RESOLUTION against what ffprobe reads of the variant.
        const streams = await probeStreams(playlistUrl) as unknown as {
          codec_type: string;
          profile: string;
          level: number;
          width?: number;
          height?: number;
        }[];
        const video = streams.find((s) => s.codec_type === "video");
        const audio = streams.find((s) => s.codec_type === "audio");
        const codecs = v.codecs.map(parseCodecs);
        const avc = codecs.find((c) => c.kind === "avc1");
        const aac = codecs.find((c) => c.kind === "mp4a");
        assert.equal(avc !== undefined, video !== undefined, v.uri);
        if (avc && avc.kind === "avc1" && video) {
          assert.match(
            video.profile,
            AVC_PROFILE_NAMES[avc.profileIdc]!,
            v.uri,
          );
          assert.equal(video.level, avc.levelIdc, v.uri);
          assert.deepEqual(v.resolution, {
            width: video.width,
            height: video.height,
          });
          assert.ok(
            Math.abs(v.frameRate! - 15) < 0.1,
            `${v.uri} FRAME-RATE ${v.frameRate}`,
          );
        } else assert.equal(v.resolution, undefined);
        assert.ok(aac && aac.kind === "mp4a" && audio, v.uri);
        assert.equal(audio.profile, "LC");
        assert.equal(aac.audioObjectType, 2);

        // Sizes and bit rates: every segment after the first (x264's start-up).
        const text = await (await fetch(playlistUrl)).text();
        const playlist = parseMediaPlaylist(text);
        const urls = segmentUrls(playlistUrl, text);
        assert.equal(urls.length, playlist.segments.length);
        if (!video) continue;
        let bytes = 0;
        let seconds = 0;
        const s: number[] = [];
        for (const [i, url] of urls.entries()) {
          const seg = await probeSegmentVideo(url);
          s.push(seg.startSeconds);
          if (i === 0) continue;
          bytes += seg.videoBytes;
          seconds += playlist.segments[i]!.durationSeconds;
        }
        starts.set(v.uri, s);
        const kbps = (bytes * 8) / seconds / 1000;
        const target =
          { "cam/cam_144p.m3u8": 200, "cam/cam_90p.m3u8": 100 }[v.uri];
        if (target !== undefined) {
          assert.ok(
            Math.abs(kbps - target) <= target * 0.15,
            `${v.uri}: ${
              kbps.toFixed(1)
            } kbit/s of video, configured ${target}`,
          );
        }
        // The declared peak covers every segment (RFC 8216 §4.3.4.2), audio and TS included.
        assert.ok(v.bandwidth >= (v.averageBandwidth ?? 0));
      }
      assert.deepEqual(
        master.m.variants.map((v) =>
          v.resolution && `${v.resolution.width}x${v.resolution.height}`
        ),
        ["320x180", "256x144", "160x90", undefined],
      );

      // Segments of every video variant start on the same timestamps (within a 90 kHz tick).
      const source = starts.get("cam/cam.m3u8")!;
      for (const uri of ["cam/cam_144p.m3u8", "cam/cam_90p.m3u8"]) {
        const rendition = starts.get(uri)!;
        const common = rendition.filter((t) =>
          t >= source[0]! - 0.001 && t <= source.at(-1)! + 0.001
        );
        assert.ok(common.length >= 3, `${uri}: ${rendition} vs ${source}`);
        for (const t of common) {
          assert.ok(
            source.some((u) => Math.abs(u - t) < 0.002),
            `${uri} segment at ${t} s has no source segment there (${source})`,
          );
        }
      }

      // The skipped profile and the running ones, as /api/streams and /metrics show them.
      const api = await (await fetch(`${http}/api/streams`)).json();
      const cam = api.streams.find((s: { name: string }) => s.name === "cam");
      assert.deepEqual(cam.transcode.skipped, [{
        profile: "720p",
        reason: "1280x720 is larger than the source's 320x180 (not upscaled)",
      }]);
      assert.deepEqual(
        cam.transcode.renditions.map((
          r: { stream: string; state: string },
        ) => [r.stream, r.state]),
        [["cam_144p", "running"], ["cam_90p", "running"], [
          "cam_audio",
          "running",
        ]],
      );
      const rendition = api.streams.find((s: { name: string }) =>
        s.name === "cam_144p"
      );
      assert.equal(rendition.publisher.protocol, "transcode");
      assert.deepEqual(rendition.transcode, {
        renditionOf: "live/cam",
        profile: "144p",
      });
      // No rendition of a rendition.
      assert.equal(api.streams.length, 4);
      const text = metrics.render();
      assert.match(
        text,
        /meridian_origin_transcode_processes\{state="running"\} 3/,
      );
      assert.match(
        text,
        /meridian_origin_transcode_fps\{stream="live\/cam",profile="144p"\} \d/,
      );
      // A rendition is an ordinary stream: HTTP-FLV and its own playlist.
      const flv = await probeStreams(`${http}/live/cam_90p.flv`);
      assert.deepEqual(flv.map((s) => s.codec_name).sort(), ["aac", "h264"]);
    } finally {
      await pub.stop();
      await origin.close();
    }
  },
});
