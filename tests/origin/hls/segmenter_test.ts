import assert from "node:assert/strict";
import { encodeAudioSpecificConfig } from "../../../codec/aac/mod.ts";
import { Amf0EcmaArray, encodeAmf0 } from "../../../codec/amf0/mod.ts";
import { type FlvTag, readFlvFile } from "../../../codec/flv/mod.ts";
import { encodeAvcDecoderConfig } from "../../../codec/h264/mod.ts";
import { parseMediaPlaylist } from "../../../codec/hls/mod.ts";
import { StreamType, TsDemuxer, TsPid } from "../../../codec/mpegts/mod.ts";
import { HlsError, HlsErrorCode, HlsStream } from "../../../origin/hls/mod.ts";
import {
  PPS_320X240_BASELINE,
  SPS_320X240_BASELINE,
} from "../../fixtures/h264.ts";

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const PEER_TIMEOUT_MS = 30_000;

// ---- synthetic tags -------------------------------------------------------------------------

const SPS = SPS_320X240_BASELINE;
const PPS = PPS_320X240_BASELINE;

function avcConfigTag(ts = 0): FlvTag {
  const record = encodeAvcDecoderConfig({
    profileIndication: 0x42,
    profileCompatibility: 0xc0,
    levelIndication: 0x0d,
    naluLengthSize: 4,
    sps: [SPS],
    pps: [PPS],
    extension: new Uint8Array(0),
  });
  return {
    type: 9,
    timestampMs: ts,
    data: new Uint8Array([0x17, 0, 0, 0, 0, ...record]),
  };
}

function videoTag(ts: number, key: boolean, ctsMs = 0): FlvTag {
  const nalu = key ? [0x65, 0x88, 0x84] : [0x41, 0x9a, 0x02];
  return {
    type: 9,
    timestampMs: ts,
    data: new Uint8Array([
      key ? 0x17 : 0x27,
      1,
      (ctsMs >> 16) & 0xff,
      (ctsMs >> 8) & 0xff,
      ctsMs & 0xff,
      0,
      0,
      0,
      3,
      ...nalu,
    ]),
  };
}

const AAC_CONFIG: FlvTag = {
  type: 8,
  timestampMs: 0,
  data: new Uint8Array([
    0xaf,
    0,
    ...encodeAudioSpecificConfig({
      objectType: 2,
      samplingFrequencyIndex: 3,
      channelConfiguration: 2,
    }),
  ]),
};
const aacTag = (ts: number): FlvTag => ({
  type: 8,
  timestampMs: ts,
  data: new Uint8Array([0xaf, 1, 0x21, 0x10, 0x04]),
});

/** 25 fps video with a keyframe every `gop` frames and 48 kHz AAC, interleaved by time. */
function synthStream(durationMs: number, gop = 50, t0 = 0): FlvTag[] {
  const tags: FlvTag[] = [avcConfigTag(t0), { ...AAC_CONFIG, timestampMs: t0 }];
  const media: FlvTag[] = [];
  for (let i = 0; i * 40 < durationMs; i++) {
    media.push(videoTag(t0 + i * 40, i % gop === 0, 40));
  }
  for (let i = 0; (i * 64) / 3 < durationMs; i++) {
    media.push(aacTag(t0 + Math.round((i * 64) / 3)));
  }
  media.sort((a, b) => a.timestampMs - b.timestampMs);
  return [...tags, ...media];
}

function feed(
  hls: HlsStream,
  tags: FlvTag[],
  clock: { now: number },
  wallStartMs: number,
): void {
  const first = tags[0]?.timestampMs ?? 0;
  for (const tag of tags) {
    clock.now = wallStartMs + (tag.timestampMs - first);
    hls.onTag(tag);
  }
}

Deno.test("HlsStream cuts whole GOPs at the target and stamps PROGRAM-DATE-TIME from ingest", () => {
  const clock = { now: T0 };
  const hls = new HlsStream({
    streamName: "t",
    segmentNamePrefix: "ab",
    now: () => clock.now,
  });
  assert.equal(hls.playlist(), undefined);
  feed(hls, synthStream(7000, 25), clock, T0); // keyframe every 1 s, target 2 s
  hls.onEnd();
  const p = parseMediaPlaylist(hls.playlist()!);
  assert.deepEqual(p.segments.map((s) => s.uri), [
    "t/ab-0.ts",
    "t/ab-1.ts",
    "t/ab-2.ts",
    "t/ab-3.ts",
  ]);
  // The last segment ends where its last frame ends: the AAC frame at 6997 ms lasts 21.3 ms.
  assert.deepEqual(p.segments.map((s) => s.durationSeconds), [2, 2, 2, 1.019]);
  assert.deepEqual(p.segments.map((s) => s.programDateTimeMs - T0), [
    0,
    2000,
    4000,
    6000,
  ]);
  assert.equal(p.targetDurationSeconds, 2);
  assert.equal(p.ended, false);
  assert.equal(hls.segmentCount, 4);
  assert.equal(hls.droppedTags, 0);
});

/** Video at `fps` with a keyframe every `gopMs` (ms clock), plus 48 kHz AAC, by time. */
function gopStream(durationMs: number, gopMs: number, fps: number): FlvTag[] {
  const media: FlvTag[] = [];
  for (let g = 0; g * gopMs < durationMs; g++) {
    for (let j = 0; j * (1000 / fps) < gopMs; j++) {
      const ts = g * gopMs + Math.round((j * 1000) / fps);
      if (ts < durationMs) media.push(videoTag(ts, j === 0));
    }
  }
  for (let i = 0; (i * 64) / 3 < durationMs; i++) {
    media.push(aacTag(Math.round((i * 64) / 3)));
  }
  media.sort((a, b) => a.timestampMs - b.timestampMs);
  return [avcConfigTag(), AAC_CONFIG, ...media];
}

Deno.test("HlsStream cuts at a keyframe a few ms before the target (GStreamer's 1982 ms GOP at 30 fps)", () => {
  const clock = { now: T0 };
  const hls = new HlsStream({
    streamName: "g",
    segmentNamePrefix: "x",
    now: () => clock.now,
  });
  feed(hls, gopStream(1982 * 5, 1982, 30), clock, T0);
  hls.onEnd();
  const p = parseMediaPlaylist(hls.playlist()!);
  // One GOP per segment, not two (3.964 s), and the target stays 2 s. (The last segment,
  // closed by the end of the stream, also holds the last frame's duration.)
  assert.deepEqual(
    p.segments.slice(0, -1).map((s) => s.durationSeconds),
    [1.982, 1.982, 1.982, 1.982],
  );
  assert.equal(p.targetDurationSeconds, 2);
});

Deno.test("HlsStream's keyframe tolerance is 10% of the target by default, and configurable", () => {
  const durations = (gopMs: number, keyframeTolerance?: number) => {
    const clock = { now: T0 };
    const hls = new HlsStream({
      streamName: "g",
      segmentNamePrefix: "x",
      now: () => clock.now,
      ...(keyframeTolerance === undefined ? {} : { keyframeTolerance }),
    });
    // One keyframe more than counted, so every counted segment is closed by a keyframe.
    feed(hls, gopStream(gopMs * 4 + 1, gopMs, 25), clock, T0);
    return parseMediaPlaylist(hls.playlist()!).segments.map((s) =>
      s.durationSeconds
    );
  };
  assert.deepEqual(durations(1800), [1.8, 1.8, 1.8, 1.8]); // exactly 10% early: cut
  assert.deepEqual(durations(1799), [3.598, 3.598]); // beyond the tolerance: next keyframe
  assert.deepEqual(durations(1982, 0), [3.964, 3.964]); // 0: at or after the target only
  assert.deepEqual(durations(1500, 0.25), [1.5, 1.5, 1.5, 1.5]);
});

Deno.test("HlsStream writes AUD + SPS/PPS on IDR, PTS = DTS + CTS, sample-counted AAC timestamps", () => {
  const clock = { now: T0 };
  const hls = new HlsStream({
    streamName: "t",
    segmentNamePrefix: "ab",
    now: () => clock.now,
  });
  feed(hls, synthStream(4100), clock, T0);
  const r = new TsDemuxer().demux(hls.segment("ab-0.ts")!);
  assert.deepEqual(r.pmt?.streams, [
    { streamType: StreamType.H264, pid: TsPid.Video },
    { streamType: StreamType.AacAdts, pid: TsPid.Audio },
  ]);
  const video = r.pes.filter((p) => p.pid === TsPid.Video);
  assert.equal(video.length, 50);
  const idr = video[0]!;
  assert.equal(idr.randomAccess, true);
  assert.deepEqual([...idr.data.subarray(0, 10)], [
    0,
    0,
    0,
    1,
    0x09,
    0xf0,
    0,
    0,
    0,
    1,
  ]);
  assert.equal(idr.data[10], 0x67); // SPS right after the AUD
  assert.equal(idr.ptsTicks - idr.dtsTicks, 40 * 90);
  assert.equal(video[1]!.data.indexOf(0x67), -1); // no SPS before non-IDR
  // AAC: 1024 samples at 48 kHz = 1920 ticks per frame, exactly, whatever the ms rounding.
  const audio = r.pes.filter((p) => p.pid === TsPid.Audio);
  for (let i = 1; i < audio.length; i++) {
    const frames = countAdts(audio[i - 1]!.data);
    assert.equal(audio[i]!.ptsTicks - audio[i - 1]!.ptsTicks, frames * 1920);
  }
});

function countAdts(data: Uint8Array): number {
  let n = 0;
  for (let o = 0; o < data.byteLength; n++) {
    o += ((data[o + 3]! & 3) << 11) | (data[o + 4]! << 3) | (data[o + 5]! >> 5);
  }
  return n;
}

Deno.test("HlsStream re-anchors AAC time when FLV timestamps jump", () => {
  const clock = { now: T0 };
  const hls = new HlsStream({
    streamName: "a",
    segmentNamePrefix: "x",
    now: () => clock.now,
  });
  hls.onTag(AAC_CONFIG);
  for (let i = 0; i < 8; i++) hls.onTag(aacTag(Math.round((i * 64) / 3)));
  for (let i = 0; i < 8; i++) {
    hls.onTag(aacTag(1000 + Math.round((i * 64) / 3))); // 1 s gap
  }
  hls.onEnd();
  const r = new TsDemuxer().demux(hls.segment("x-0")!);
  const pts = r.pes.map((p) => p.ptsTicks - r.pes[0]!.ptsTicks);
  assert.deepEqual(pts, [0, 4 * 1920, 90_000, 90_000 + 4 * 1920]);
});

Deno.test("HlsStream marks a republish with EXT-X-DISCONTINUITY and counts DISCONTINUITY-SEQUENCE", () => {
  const clock = { now: T0 };
  const hls = new HlsStream({
    streamName: "t",
    windowSegments: 2,
    segmentNamePrefix: "ab",
    now: () => clock.now,
  });
  feed(hls, synthStream(4000), clock, T0); // 1 segment closed, 1 open
  hls.onEnd(); // 2 segments
  feed(hls, synthStream(4000), clock, T0 + 10_000); // timestamps restart at 0
  let p = parseMediaPlaylist(hls.playlist()!);
  assert.deepEqual(p.segments.map((s) => [s.uri, s.discontinuity]), [[
    "t/ab-1.ts",
    false,
  ], ["t/ab-2.ts", true]]);
  assert.equal(p.discontinuitySequence, 0);
  assert.equal(p.mediaSequence, 1);
  hls.onEnd();
  p = parseMediaPlaylist(hls.playlist()!);
  assert.deepEqual(p.segments.map((s) => [s.uri, s.discontinuity]), [[
    "t/ab-2.ts",
    true,
  ], ["t/ab-3.ts", false]]);
  feed(hls, synthStream(2500), clock, T0 + 20_000);
  hls.onEnd();
  p = parseMediaPlaylist(hls.playlist()!);
  // ab-2 (flagged) left the playlist: the discontinuity sequence counts it.
  assert.deepEqual(p.segments.map((s) => [s.uri, s.discontinuity]), [[
    "t/ab-4.ts",
    true,
  ], ["t/ab-5.ts", false]]);
  assert.equal(p.discontinuitySequence, 1);
  assert.equal(p.mediaSequence, 4);
  assert.ok(
    hls.segment("ab-2.ts"),
    "retained beyond the window for slow clients",
  );
});

// MP3 in FLV: SoundFormat 2, 44.1 kHz, 16-bit, stereo; then one MPEG-1 Layer III frame header.
const mp3Tag = (ts: number, mpeg1 = true): FlvTag => ({
  type: 8,
  timestampMs: ts,
  data: new Uint8Array([0x2f, 0xff, mpeg1 ? 0xfb : 0xf3, 0x90, 0x64, 0, 0, 0]),
});
const metadataTag = (props: Record<string, number>): FlvTag => ({
  type: 18,
  timestampMs: 0,
  data: encodeAmf0("onMetaData", new Amf0EcmaArray(props)),
});

/** 25 fps H.264, keyframe every 1 s, and MP3 frames (26 ms) from `audioFromMs` on. */
function mp3Stream(durationMs: number, audioFromMs: number): FlvTag[] {
  const media: FlvTag[] = [];
  for (let i = 0; i * 40 < durationMs; i++) {
    media.push(videoTag(i * 40, i % 25 === 0));
  }
  for (let t = audioFromMs; t < durationMs; t += 26) media.push(mp3Tag(t));
  // Stable sort: at equal times video goes first, as when the keyframe opens the segment.
  media.sort((a, b) => a.timestampMs - b.timestampMs);
  return [avcConfigTag(), ...media];
}

function pmtAndAudio(hls: HlsStream, name: string) {
  const r = new TsDemuxer().demux(hls.segment(name)!);
  return {
    streams: r.pmt?.streams.map((s) => s.streamType),
    audioPes: r.pes.filter((p) => p.pid === TsPid.Audio).length,
    continuityErrors: r.continuityErrors,
  };
}

Deno.test("HlsStream: an MP3 track first seen after the keyframe joins the open segment (no audio dropped, no DISCONTINUITY)", () => {
  const clock = { now: T0 };
  const hls = new HlsStream({
    streamName: "m",
    segmentNamePrefix: "x",
    now: () => clock.now,
  });
  // No onMetaData: the first MP3 tag, 300 ms after the first keyframe, is all there is.
  feed(hls, mp3Stream(4100, 300), clock, T0);
  hls.onEnd();
  const first = pmtAndAudio(hls, "x-0");
  assert.deepEqual(first.streams, [StreamType.H264, StreamType.Mpeg1Audio]);
  // 300..2000 ms of audio in 26 ms frames, 4 frames per PES: every frame is in the segment.
  assert.equal(first.audioPes, Math.ceil(Math.ceil((2000 - 300) / 26) / 4));
  assert.deepEqual(pmtAndAudio(hls, "x-1").streams, first.streams);
  const p = parseMediaPlaylist(hls.playlist()!);
  assert.deepEqual(p.segments.map((s) => s.discontinuity), [
    false,
    false,
    false,
  ]);
  for (const name of ["x-0", "x-1", "x-2"]) {
    assert.deepEqual(pmtAndAudio(hls, name).continuityErrors, [], name);
  }
});

Deno.test("HlsStream declares MP3 from onMetaData before the first MP3 tag (audio starting a segment late needs no DISCONTINUITY)", () => {
  const clock = { now: T0 };
  const hls = new HlsStream({
    streamName: "m",
    segmentNamePrefix: "x",
    now: () => clock.now,
  });
  // The encoder's audio starts 2.5 s in: after the first segment was cut.
  feed(
    hls,
    [
      metadataTag({ audiocodecid: 2, audiosamplerate: 44100, videocodecid: 7 }),
      ...mp3Stream(4100, 2500),
    ],
    clock,
    T0,
  );
  hls.onEnd();
  assert.deepEqual(pmtAndAudio(hls, "x-0").streams, [
    StreamType.H264,
    StreamType.Mpeg1Audio,
  ]);
  assert.ok(pmtAndAudio(hls, "x-1").audioPes > 0);
  const p = parseMediaPlaylist(hls.playlist()!);
  assert.deepEqual(p.segments.map((s) => s.discontinuity), [
    false,
    false,
    false,
  ]);
});

Deno.test("HlsStream's MP3 hint: 22.05 kHz is MPEG-2 audio; the MP3 frame header overrides a wrong hint; AAC ignores it", () => {
  const run = (meta: Record<string, number>, tags: FlvTag[]) => {
    const clock = { now: T0 };
    const hls = new HlsStream({
      streamName: "m",
      segmentNamePrefix: "x",
      now: () => clock.now,
    });
    feed(hls, [metadataTag(meta), ...tags], clock, T0);
    hls.onEnd();
    return pmtAndAudio(hls, "x-0").streams;
  };
  const video = mp3Stream(2100, 99_999); // video only
  assert.deepEqual(run({ audiocodecid: 2, audiosamplerate: 22050 }, video), [
    StreamType.H264,
    StreamType.Mpeg2Audio,
  ]);
  // The hint said MPEG-1, the frames are MPEG-2: no audio was written yet, so the frames win.
  const mpeg2: FlvTag[] = [...video];
  for (let t = 100; t < 2000; t += 26) mpeg2.push(mp3Tag(t, false));
  mpeg2.sort((a, b) => a.timestampMs - b.timestampMs);
  assert.deepEqual(run({ audiocodecid: 2, audiosamplerate: 44100 }, mpeg2), [
    StreamType.H264,
    StreamType.Mpeg2Audio,
  ]);
  // audiocodecid 10 (AAC) is no hint: AAC waits for its sequence header.
  assert.deepEqual(run({ audiocodecid: 10 }, video), [StreamType.H264]);
});

Deno.test("HlsStream.markEnded() appends EXT-X-ENDLIST; a later publish starts a new presentation with numbering going on", () => {
  const clock = { now: T0 };
  const hls = new HlsStream({
    streamName: "t",
    windowSegments: 3,
    segmentNamePrefix: "ab",
    now: () => clock.now,
  });
  feed(hls, synthStream(6100), clock, T0);
  hls.onEnd();
  assert.equal(parseMediaPlaylist(hls.playlist()!).ended, false);
  hls.markEnded();
  assert.equal(hls.ended, true);
  const ended = hls.playlist()!;
  assert.match(ended, /#EXTINF:[\d.]+,\nt\/ab-3\.ts\n#EXT-X-ENDLIST\n$/);
  assert.deepEqual(parseMediaPlaylist(ended).segments.map((s) => s.uri), [
    "t/ab-1.ts",
    "t/ab-2.ts",
    "t/ab-3.ts",
  ]);
  // A new publisher after the end: until its first segment there is no playlist...
  hls.onTag(avcConfigTag());
  assert.equal(hls.ended, false);
  assert.equal(hls.playlist(), undefined);
  assert.ok(hls.segment("ab-3.ts"), "ended segments stay downloadable");
  feed(hls, synthStream(4100).slice(1), clock, T0 + 30_000);
  const p = parseMediaPlaylist(hls.playlist()!);
  assert.equal(p.ended, false);
  // ...then a live one that goes on numbering, behind a discontinuity.
  assert.deepEqual(p.segments.map((s) => [s.uri, s.discontinuity]), [
    ["t/ab-4.ts", true],
    ["t/ab-5.ts", false],
  ]);
  assert.equal(p.mediaSequence, 4);
  assert.equal(p.discontinuitySequence, 0);
});

Deno.test("HlsStream resumes an earlier process's numbering: sequence and discontinuity sequence go on, the join is a DISCONTINUITY", () => {
  const clock = { now: T0 };
  const opened: { nextSequence: number; discontinuities: number }[] = [];
  const closed: number[] = [];
  const hls = new HlsStream({
    streamName: "t",
    segmentNamePrefix: "cd",
    now: () => clock.now,
    resume: { nextSequence: 7, discontinuities: 2 },
    onSegmentOpened: (s) => opened.push({ ...s }),
    onSegmentClosed: () => closed.push(hls.segmentCount),
  });
  feed(hls, synthStream(4100), clock, T0);
  hls.onEnd();
  const p = parseMediaPlaylist(hls.playlist()!);
  assert.equal(p.mediaSequence, 7);
  assert.equal(p.discontinuitySequence, 2);
  assert.deepEqual(p.segments.map((s) => [s.uri, s.discontinuity]), [
    ["t/cd-7.ts", true],
    ["t/cd-8.ts", false],
    ["t/cd-9.ts", false],
  ]);
  // Told at each open, before the segment can be listed: what to persist.
  assert.deepEqual(opened, [
    { nextSequence: 8, discontinuities: 3 },
    { nextSequence: 9, discontinuities: 3 },
    { nextSequence: 10, discontinuities: 3 },
  ]);
  assert.deepEqual(closed, [1, 2, 3]);
  assert.deepEqual(hls.sequenceState, { nextSequence: 10, discontinuities: 3 });
  // A resumed state of 0 is a fresh start: no discontinuity.
  const fresh = new HlsStream({
    streamName: "t",
    segmentNamePrefix: "ef",
    now: () => clock.now,
    resume: { nextSequence: 0, discontinuities: 0 },
  });
  feed(fresh, synthStream(2100), clock, T0);
  assert.equal(fresh.segments[0]?.discontinuity, false);
});

Deno.test("HlsStream packages HEVC streams as audio-only and cuts them on audio time", () => {
  const clock = { now: T0 };
  const hls = new HlsStream({
    streamName: "h",
    segmentNamePrefix: "x",
    now: () => clock.now,
  });
  const hvc = (ts: number, key: boolean): FlvTag => ({
    type: 9,
    timestampMs: ts,
    data: new Uint8Array([key ? 0x1c : 0x2c, 1, 0, 0, 0, 0, 0, 0, 1, 0x26]),
  });
  const tags: FlvTag[] = [{
    type: 9,
    timestampMs: 0,
    data: new Uint8Array([0x1c, 0, 0, 0, 0, 1]),
  }, AAC_CONFIG];
  for (let i = 0; i < 125; i++) tags.push(hvc(i * 40, i % 50 === 0));
  for (let i = 0; i < 234; i++) tags.push(aacTag(Math.round((i * 64) / 3)));
  feed(hls, tags.sort((a, b) => a.timestampMs - b.timestampMs), clock, T0);
  hls.onEnd();
  const p = parseMediaPlaylist(hls.playlist()!);
  assert.equal(p.segments.length, 3);
  const r = new TsDemuxer().demux(hls.segment("x-0")!);
  assert.deepEqual(r.pmt?.streams, [{
    streamType: StreamType.AacAdts,
    pid: TsPid.Audio,
  }]);
  assert.equal(r.pmt?.pcrPid, TsPid.Audio);
});

Deno.test("HlsStream.onTag() records malformed tags instead of throwing", () => {
  const hls = new HlsStream({
    streamName: "t",
    segmentNamePrefix: "x",
    now: () => T0,
  });
  hls.onTag({
    type: 9,
    timestampMs: 0,
    data: new Uint8Array([0x17, 0, 0, 0, 0, 1, 0x42]),
  }); // truncated avcC
  hls.onTag({ type: 8, timestampMs: 0, data: new Uint8Array([0xaf]) });
  hls.onTag({
    type: 18,
    timestampMs: 0,
    data: new Uint8Array([2, 0, 1, 0x41]),
  });
  assert.equal(hls.droppedTags, 2);
  assert.ok(hls.lastError instanceof HlsError);
  assert.equal(hls.lastError.code, HlsErrorCode.BadTag);
  assert.match(
    hls.lastError.message,
    /^Cannot package audio tag at 0 ms of stream t: /,
  );
  // Still works afterwards.
  const clock = { now: T0 };
  feed(hls, synthStream(2100), clock, T0);
  assert.equal(hls.segmentCount, 1);
});

Deno.test("HlsStream validates its options", () => {
  const base = { streamName: "t", now: () => T0 };
  for (
    const bad of [
      { targetDurationMs: 0 },
      { windowSegments: 0 },
      { windowSegments: 1.5 },
      { keyframeTolerance: -0.1 },
      { keyframeTolerance: 0.6 },
      { keyframeTolerance: NaN },
      { resume: { nextSequence: -1, discontinuities: 0 } },
      { resume: { nextSequence: 1.5, discontinuities: 0 } },
      { segmentNamePrefix: "a/b" },
      { streamName: "../x" },
    ]
  ) {
    assert.throws(
      () => new HlsStream({ ...base, ...bad }),
      (e) => e instanceof HlsError && e.code === HlsErrorCode.BadOptions,
    );
  }
  // The default prefix is the base-36 clock at construction.
  const hls = new HlsStream(base);
  feed(hls, synthStream(2100), { now: T0 }, T0);
  assert.equal(hls.segments[0]?.name, `${T0.toString(36)}-0.ts`);
});

// ---- real peers: ffmpeg makes the FLV, ffprobe judges the HLS ---------------------------------

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, PEER_TIMEOUT_MS);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }
}

async function have(binary: string): Promise<boolean> {
  try {
    return (await run(binary, ["-version"])).code === 0;
  } catch {
    return false;
  }
}

const PEERS_MISSING = !(await have("ffmpeg")) || !(await have("ffprobe"));

async function writeHls(
  dir: string,
  hls: HlsStream,
  name: string,
): Promise<string[]> {
  const text = hls.playlist()!;
  await Deno.writeTextFile(`${dir}/${name}.m3u8`, text);
  await Deno.mkdir(`${dir}/${name}`, { recursive: true });
  const files: string[] = [];
  for (const s of parseMediaPlaylist(text).segments) {
    const file = `${dir}/${s.uri}`;
    await Deno.writeFile(file, hls.segment(s.uri.split("/")[1]!)!);
    files.push(file);
  }
  return files;
}

Deno.test({
  name:
    `HlsStream output plays in ffprobe: ffmpeg FLV in, h264 + aac 2 s segments out${
      PEERS_MISSING ? " (skipped: ffmpeg/ffprobe not on PATH)" : ""
    }`,
  ignore: PEERS_MISSING,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian_hls_" });
    try {
      const flvPath = `${dir}/out.flv`;
      const gen = await run("ffmpeg", [
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "50",
        "-c:a",
        "aac",
        "-t",
        "7",
        "-f",
        "flv",
        flvPath,
      ]);
      assert.equal(gen.code, 0, gen.stderr);
      const file = readFlvFile(await Deno.readFile(flvPath));
      assert.ok(file.tags.length > 300);

      const clock = { now: T0 };
      const hls = new HlsStream({
        streamName: "t",
        segmentNamePrefix: "run1",
        now: () => clock.now,
      });
      feed(hls, file.tags, clock, T0);
      hls.onEnd();
      assert.equal(hls.droppedTags, 0, String(hls.lastError));
      const segments = await writeHls(dir, hls, "t");
      assert.equal(segments.length, 4);

      // The playlist as a whole: one h264 and one aac stream.
      const probe = await run("ffprobe", [
        "-v",
        "error",
        "-show_streams",
        "-show_format",
        "-of",
        "json",
        `${dir}/t.m3u8`,
      ]);
      assert.equal(probe.code, 0, probe.stderr);
      const info = JSON.parse(probe.stdout) as {
        streams: { codec_name: string; codec_type: string; width?: number }[];
        format: { duration: string };
      };
      assert.deepEqual(info.streams.map((s) => s.codec_name).sort(), [
        "aac",
        "h264",
      ]);
      assert.equal(
        info.streams.find((s) => s.codec_type === "video")?.width,
        320,
      );
      // A live playlist (no EXT-X-ENDLIST) has no format duration; the EXTINFs add up to 7 s.
      const total = parseMediaPlaylist(hls.playlist()!).segments.reduce(
        (n, s) => n + s.durationSeconds,
        0,
      );
      assert.ok(Math.abs(total - 7) < 0.1, `total ${total}`);

      // Each full segment is one 2 s GOP.
      const listed = parseMediaPlaylist(hls.playlist()!).segments;
      for (const [i, seg] of segments.entries()) {
        const p = await run("ffprobe", [
          "-v",
          "error",
          "-show_entries",
          "format=duration",
          "-of",
          "json",
          seg,
        ]);
        assert.equal(p.code, 0, p.stderr);
        const duration = Number(
          (JSON.parse(p.stdout) as { format: { duration: string } }).format
            .duration,
        );
        const expected = i < 3 ? 2 : 1;
        assert.ok(
          Math.abs(duration - expected) < 0.1,
          `segment ${i}: ffprobe ${duration} s, expected ${expected}`,
        );
        assert.ok(
          Math.abs(listed[i]!.durationSeconds - expected) < 0.05,
          `EXTINF ${listed[i]!.durationSeconds}`,
        );
      }

      // Our validator: PAT + PMT first in every segment, continuity across segments, IDR first.
      const demux = new TsDemuxer();
      for (const seg of segments) {
        const r = demux.demux(await Deno.readFile(seg));
        assert.equal(r.packets[0]?.pid, TsPid.Pat, seg);
        assert.equal(r.packets[1]?.pid, TsPid.Pmt, seg);
        assert.deepEqual(r.continuityErrors, [], seg);
        const firstVideo = r.pes.find((p) => p.pid === TsPid.Video);
        assert.equal(firstVideo?.randomAccess, true, seg);
      }

      // Republish: the same file again after onEnd() starts with EXT-X-DISCONTINUITY.
      feed(hls, file.tags, clock, T0 + 60_000);
      hls.onEnd();
      const text = hls.playlist()!;
      const p = parseMediaPlaylist(text);
      assert.deepEqual(p.segments.map((s) => s.discontinuity), [
        false,
        false,
        true,
        false,
        false,
        false,
      ]);
      assert.match(
        text,
        /#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:01:00.0\d\dZ\n#EXTINF:2.000,\nt\/run1-4.ts/,
      );
      const all = await writeHls(dir, hls, "t");
      for (const seg of all.slice(2)) {
        assert.deepEqual(
          demux.demux(await Deno.readFile(seg)).continuityErrors,
          [],
        );
      }
      const again = await run("ffprobe", [
        "-v",
        "error",
        "-show_streams",
        "-of",
        "json",
        `${dir}/t.m3u8`,
      ]);
      assert.equal(again.code, 0, again.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
