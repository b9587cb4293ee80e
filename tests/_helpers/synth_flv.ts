/**
 * Synthetic FLV tags for tests that need decodable H.264 + AAC without ffmpeg: a real
 * 320x240 SPS/PPS (tests/fixtures/h264.ts), one-NALU frames, 25 fps, AAC-LC 48 kHz.
 *
 * @module
 */
import { encodeAudioSpecificConfig } from "../../codec/aac/mod.ts";
import type { FlvTag } from "../../codec/flv/mod.ts";
import { encodeAvcDecoderConfig } from "../../codec/h264/mod.ts";
import {
  PPS_320X240_BASELINE,
  SPS_320X240_BASELINE,
} from "../fixtures/h264.ts";

/** The AVC sequence header of the fixture's SPS/PPS. */
export function avcConfigTag(ts = 0): FlvTag {
  const record = encodeAvcDecoderConfig({
    profileIndication: 0x42,
    profileCompatibility: 0xc0,
    levelIndication: 0x0d,
    naluLengthSize: 4,
    sps: [SPS_320X240_BASELINE],
    pps: [PPS_320X240_BASELINE],
    extension: new Uint8Array(0),
  });
  return {
    type: 9,
    timestampMs: ts,
    data: new Uint8Array([0x17, 0, 0, 0, 0, ...record]),
  };
}

/** One coded frame (an IDR slice when `key`). */
export function videoTag(ts: number, key: boolean): FlvTag {
  const nalu = key ? [0x65, 0x88, 0x84] : [0x41, 0x9a, 0x02];
  return {
    type: 9,
    timestampMs: ts,
    data: new Uint8Array([key ? 0x17 : 0x27, 1, 0, 0, 0, 0, 0, 0, 3, ...nalu]),
  };
}

/** The AAC sequence header (AAC-LC, 48 kHz, stereo). */
export function aacConfigTag(ts = 0): FlvTag {
  return {
    type: 8,
    timestampMs: ts,
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
}

/** One AAC frame. */
export function aacTag(ts: number): FlvTag {
  return {
    type: 8,
    timestampMs: ts,
    data: new Uint8Array([0xaf, 1, 0x21, 0x10, 0x04]),
  };
}

/**
 * Sequence headers, then `durationMs` of 25 fps video (a keyframe every `gop` frames) and AAC
 * interleaved by time, starting at `t0`.
 */
export function synthStream(durationMs: number, gop = 50, t0 = 0): FlvTag[] {
  const media: FlvTag[] = [];
  for (let i = 0; i * 40 < durationMs; i++) {
    media.push(videoTag(t0 + i * 40, i % gop === 0));
  }
  for (let i = 0; (i * 64) / 3 < durationMs; i++) {
    media.push(aacTag(t0 + Math.round((i * 64) / 3)));
  }
  media.sort((a, b) => a.timestampMs - b.timestampMs);
  return [avcConfigTag(t0), aacConfigTag(t0), ...media];
}
