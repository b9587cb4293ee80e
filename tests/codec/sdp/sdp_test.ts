import assert from "node:assert/strict";
import {
  buildPlaySdp,
  describeTracks,
  parseSdp,
  SdpFormatError,
} from "../../../codec/sdp/mod.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";
import {
  PPS_320X240_BASELINE,
  SPS_320X240_BASELINE,
} from "../../fixtures/h264.ts";
import { HEVC_PPS, HEVC_SPS, HEVC_VPS } from "../../fixtures/h265.ts";

/** The SDP ffmpeg 5.1 ANNOUNCEs for libx264 + aac (`-f rtsp`). */
const FFMPEG_SDP = [
  "v=0",
  "o=- 0 0 IN IP4 127.0.0.1",
  "s=No Name",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "a=tool:libavformat 59.27.100",
  "m=video 0 RTP/AVP 96",
  "b=AS:200",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LADdoFB+wEQAAAAwBAAAAMg8UKqA==,aM4PyA==; profile-level-id=42C00D",
  "a=control:streamid=0",
  "m=audio 0 RTP/AVP 97",
  "b=AS:64",
  "a=rtpmap:97 MPEG4-GENERIC/44100/2",
  "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=121056E500",
  "a=control:streamid=1",
  "",
].join("\r\n");

Deno.test("describeTracks() reads ffmpeg's H.264 and AAC tracks with their parameter sets and config", () => {
  const { tracks, unsupported } = describeTracks(parseSdp(FFMPEG_SDP));
  assert.deepEqual(unsupported, []);
  const [v, a] = tracks;
  assert.deepEqual([
    v?.codec,
    v?.payloadType,
    v?.clockRate,
    v?.control,
    v?.packetizationMode,
  ], ["h264", 96, 90000, "streamid=0", 1]);
  assert.deepEqual(v?.sps, [SPS_320X240_BASELINE]);
  assert.deepEqual(v?.pps, [PPS_320X240_BASELINE]);
  assert.deepEqual([
    a?.codec,
    a?.clockRate,
    a?.channels,
    a?.sizeLength,
    a?.indexLength,
  ], ["aac", 44100, 2, 13, 3]);
  assert.deepEqual([...a!.aacConfig!], [0x12, 0x10, 0x56, 0xe5, 0x00]);
});

Deno.test("buildPlaySdp() describes H.265, AAC, G.711 and MPA tracks that describeTracks() reads back", () => {
  const text = buildPlaySdp({
    name: "live/a",
    address: "127.0.0.1",
    tracks: [
      {
        codec: "h265",
        payloadType: 96,
        clockRate: 90000,
        channels: 1,
        control: "trackID=0",
        vps: [HEVC_VPS],
        sps: [HEVC_SPS],
        pps: [HEVC_PPS],
      },
      {
        codec: "aac",
        payloadType: 97,
        clockRate: 48000,
        channels: 2,
        control: "trackID=1",
        aacConfig: new Uint8Array([0x11, 0x90]),
      },
    ],
  });
  const { tracks } = describeTracks(parseSdp(text));
  assert.deepEqual(tracks.map((t) => [t.codec, t.control, t.clockRate]), [[
    "h265",
    "trackID=0",
    90000,
  ], ["aac", "trackID=1", 48000]]);
  assert.deepEqual(tracks[0]!.vps, [HEVC_VPS]);
  assert.deepEqual(tracks[0]!.sps, [HEVC_SPS]);
  assert.deepEqual([...tracks[1]!.aacConfig!], [0x11, 0x90]);
  for (const codec of ["pcmu", "pcma", "mpa"] as const) {
    const pt = { pcmu: 0, pcma: 8, mpa: 14 }[codec];
    const t = describeTracks(
      parseSdp(
        buildPlaySdp({
          name: "x",
          address: "::1",
          tracks: [{
            codec,
            payloadType: pt,
            clockRate: codec === "mpa" ? 90000 : 8000,
            channels: 1,
            control: "trackID=0",
          }],
        }),
      ),
    ).tracks[0];
    assert.deepEqual([t?.codec, t?.payloadType], [codec, pt]);
  }
});

Deno.test("parseSdp() refuses what is not SDP; describeTracks() names what it cannot carry", () => {
  for (
    const bad of [
      "",
      "hello",
      "v=1\r\n",
      "v=0\r\nm=video\r\n",
      `v=0\r\n${"a=x\r\n".repeat(2000)}`,
    ]
  ) {
    assert.throws(
      () => parseSdp(bad),
      SdpFormatError,
      JSON.stringify(bad.slice(0, 20)),
    );
  }
  const { tracks, unsupported } = describeTracks(
    parseSdp(
      "v=0\r\nm=video 0 RTP/AVP 26\r\nm=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\nm=application 0 RTP/AVP 107\r\n",
    ),
  );
  assert.deepEqual(tracks, []);
  assert.deepEqual(unsupported, ["video 26", "audio OPUS", "application 107"]);
});

Deno.test("parseSdp() and describeTracks() throw SdpFormatError or describe on mutated input", () => {
  const next = createPrng(8866);
  const seed = new TextEncoder().encode(FFMPEG_SDP);
  const dec = new TextDecoder();
  for (let i = 0; i < 3000; i++) {
    try {
      describeTracks(parseSdp(dec.decode(mutate(next, seed))));
    } catch (e) {
      assert.ok(e instanceof SdpFormatError, `case ${i}: ${e}`);
    }
  }
});
