import assert from "node:assert/strict";
import { DEFAULT_LADDER, type TranscodeProfile } from "../../../config/mod.ts";
import {
  liveRenditionArgs,
  outputSize,
  planRenditions,
  rateControl,
  renditionName,
  renditionOf,
  vodJobArgs,
} from "../../../origin/transcode/profiles.ts";

const p = (over: Partial<TranscodeProfile>): TranscodeProfile => ({
  ...DEFAULT_LADDER[1]!,
  ...over,
});

Deno.test("renditionOf() recognises {stream}_{profile} names only for the app's profiles", () => {
  const names = DEFAULT_LADDER.map((x) => x.name);
  assert.equal(renditionName("cam", "720p"), "cam_720p");
  assert.deepEqual(renditionOf("my_cam_720p", names), {
    source: "my_cam",
    profile: "720p",
  });
  assert.deepEqual(renditionOf("cam_audio", names), {
    source: "cam",
    profile: "audio",
  });
  assert.equal(renditionOf("cam_1440p", names), undefined);
  assert.equal(renditionOf("_720p", names), undefined); // no source name left
  assert.equal(renditionOf("cam720p", names), undefined);
});

Deno.test("outputSize() keeps the aspect with even sides, or takes both sides as given", () => {
  const src = { hasVideo: true, hasAudio: true, width: 1920, height: 1080 };
  const table: [Partial<TranscodeProfile>, [number, number] | undefined][] = [
    [{ height: 720 }, [1280, 720]],
    [{ height: 480 }, [854, 480]], // 853.3 → even
    [{ width: 640, height: 0 }, [640, 360]],
    [{ width: 400, height: 400 }, [400, 400]],
    [{ width: 0, height: 0 }, [1920, 1080]],
  ];
  for (const [over, want] of table) {
    const got = outputSize(p(over), src);
    assert.deepEqual(
      got && [got.width, got.height],
      want,
      JSON.stringify(over),
    );
  }
  // An unknown source size: only a fully given size is known.
  assert.equal(
    outputSize(p({ height: 720 }), { hasVideo: true, hasAudio: true }),
    undefined,
  );
  assert.deepEqual(
    outputSize(p({ width: 320, height: 180 }), {
      hasVideo: true,
      hasAudio: true,
    }),
    { width: 320, height: 180 },
  );
  // A 4:3 source at 480 lines.
  assert.deepEqual(
    outputSize(p({ height: 480 }), {
      hasVideo: true,
      hasAudio: true,
      width: 640,
      height: 480,
    }),
    { width: 640, height: 480 },
  );
});

Deno.test("planRenditions() skips upscales, video of audio-only sources and audio-only of silent sources", () => {
  const ladder = DEFAULT_LADDER;
  const names = (x: { planned: { profile: { name: string } }[] }) =>
    x.planned.map((r) => r.profile.name);
  const hd = planRenditions(ladder, {
    hasVideo: true,
    hasAudio: true,
    width: 1920,
    height: 1080,
  });
  assert.deepEqual(names(hd), ["1080p", "720p", "480p", "360p", "audio"]);
  assert.deepEqual(hd.skipped, []);
  const sd = planRenditions(ladder, {
    hasVideo: true,
    hasAudio: false,
    width: 640,
    height: 360,
  });
  assert.deepEqual(names(sd), ["360p"]); // the same size is not an upscale
  assert.deepEqual(sd.skipped.map((s) => s.profile), [
    "1080p",
    "720p",
    "480p",
    "audio",
  ]);
  assert.equal(
    sd.skipped[2]!.reason,
    "854x480 is larger than the source's 640x360 (not upscaled)",
  );
  assert.equal(
    sd.skipped[3]!.reason,
    "an audio-only rendition of a source without audio",
  );
  const radio = planRenditions(ladder, { hasVideo: false, hasAudio: true });
  assert.deepEqual(names(radio), ["audio"]);
  assert.equal(radio.skipped[0]!.reason, "the source has no video");
  // copy never scales, so never upscales; an unknown source size plans without a size.
  const copy = planRenditions([
    p({ name: "c", video: "copy", height: 0, videoKbps: 0 }),
  ], { hasVideo: true, hasAudio: true, width: 16, height: 16 });
  assert.deepEqual(names(copy), ["c"]);
  const unknown = planRenditions([p({})], { hasVideo: true, hasAudio: true });
  assert.deepEqual(unknown.planned.map((r) => r.height), [undefined]);
});

Deno.test("rateControl() derives peak 1.07× and buffer 1.5× the peak when not given", () => {
  assert.deepEqual(
    rateControl(p({ videoKbps: 1000, maxrateKbps: 0, bufsizeKbps: 0 })),
    { maxrateKbps: 1070, bufsizeKbps: 1605 },
  );
  assert.deepEqual(
    rateControl(p({ videoKbps: 1000, maxrateKbps: 1500, bufsizeKbps: 999 })),
    { maxrateKbps: 1500, bufsizeKbps: 999 },
  );
});

Deno.test("liveRenditionArgs(): FLV in and out on pipes, source keyframes and timestamps, extra args last", () => {
  const args = liveRenditionArgs(
    {
      profile: p({ fps: 30, extraArgs: ["-bf", "2"] }),
      width: 1280,
      height: 720,
    },
    { hasVideo: true, hasAudio: true },
    "live/cam_720p",
  );
  const text = args.join(" ");
  assert.match(text, /-f flv -i pipe:0/);
  assert.match(
    text,
    /-map 0:v:0 -c:v libx264 -preset veryfast -b:v 2800k -maxrate 2996k -bufsize 4200k -vf scale=-2:720,format=yuv420p -fpsmax 30 -sc_threshold 0 -enc_time_base:v -1 -force_key_frames source_no_drop -g 600 -bf 0/,
  );
  assert.match(
    text,
    /-map 0:a:0\? -c:a aac -b:a 128k -copyts -metadata meridian_rendition=live\/cam_720p -bf 2 -flush_packets 1 -flvflags no_duration_filesize -f flv pipe:1$/,
  );
  assert.match(text, /-progress pipe:2/);
  // No fps cap: keyframes where the source has them, exactly.
  assert.match(
    liveRenditionArgs({ profile: p({}), width: 1, height: 1 }, {
      hasVideo: true,
      hasAudio: true,
    }, "x").join(" "),
    /-force_key_frames source -g/,
  );
  // Audio only, copy, and a silent source.
  const audio = liveRenditionArgs(
    { profile: DEFAULT_LADDER[4]!, width: undefined, height: undefined },
    { hasVideo: true, hasAudio: true },
    "x",
  ).join(" ");
  assert.match(audio, /-vn -map 0:a:0\? -c:a aac -b:a 64k/);
  const copy = liveRenditionArgs(
    {
      profile: p({ video: "copy", audio: "copy" }),
      width: undefined,
      height: undefined,
    },
    { hasVideo: true, hasAudio: false },
    "x",
  ).join(" ");
  assert.match(copy, /-map 0:v:0 -c:v copy -an/);
  // A hardware encoder is named as given, without libx264's pixel format.
  const nv = liveRenditionArgs(
    { profile: p({ video: "h264_nvenc", preset: "p4" }), width: 1, height: 1 },
    { hasVideo: true, hasAudio: true },
    "x",
  ).join(" ");
  assert.match(nv, /-c:v h264_nvenc -preset p4 .* -vf scale=-2:720 /);
});

Deno.test("vodJobArgs(): one input, one output per rendition, keyframes every segment from 0", () => {
  const plans = [DEFAULT_LADDER[2]!, DEFAULT_LADDER[4]!].map((profile) => ({
    profile,
    width: undefined,
    height: undefined,
  }));
  const shape = { hasVideo: true, hasAudio: true };
  const hls = vodJobArgs(
    "/m/a.mp4",
    plans,
    shape,
    "hls",
    4,
    "/m/.a_abr.x.partial",
  ).join(" ");
  assert.match(hls, /-progress pipe:1 -i \/m\/a\.mp4 /);
  assert.match(hls, /-force_key_frames expr:gte\(t,n_forced\*4\)/);
  assert.match(
    hls,
    /-hls_segment_filename \/m\/\.a_abr\.x\.partial\/480p\/seg_%05d\.ts \/m\/\.a_abr\.x\.partial\/480p\/index\.m3u8/,
  );
  assert.match(hls, /-vn -map 0:a:0\? -c:a aac -b:a 64k .*audio\/index\.m3u8$/);
  const mp4 = vodJobArgs("/m/a.mp4", plans, shape, "mp4", 4, "/w").join(" ");
  assert.match(
    mp4,
    /-movflags \+faststart -f mp4 \/w\/480p\.mp4 .* -f mp4 \/w\/audio\.mp4$/,
  );
});
