/**
 * The `stsd` sample entry of a track (ISO/IEC 14496-12 §8.5.2, ISO/IEC 14496-15 for `avc1`/
 * `hvc1`, ISO/IEC 14496-14 §5.6 for `mp4a`): the source's own entry when it has one (an MP4
 * file), else one made from the codec's configuration record (an FLV file, a live stream).
 *
 * @module
 */

import type { TrackIndex } from "../samples/types.ts";
import { writeBox, writeFullBox } from "./box.ts";

/** What a sample entry is made from: a track's description, without its samples. */
export type TrackDescription = Pick<
  TrackIndex,
  | "kind"
  | "codec"
  | "config"
  | "sampleEntry"
  | "width"
  | "height"
  | "sampleRate"
  | "channels"
>;

/**
 * The sample entry box of `t`.
 *
 * @example
 * ```ts
 * import { sampleEntryOf } from "./sample_entry.ts";
 * import { fourcc } from "./box.ts";
 * const e = sampleEntryOf({ kind: "audio", codec: "aac", config: new Uint8Array([0x12, 0x10]), sampleEntry: undefined, sampleRate: 44100, channels: 2 });
 * if (fourcc(e, 4) !== "mp4a") throw new Error("not mp4a");
 * ```
 */
export function sampleEntryOf(t: TrackDescription): Uint8Array {
  if (t.sampleEntry) return t.sampleEntry;
  if (t.kind === "video") {
    const type = t.codec === "hevc" ? "hvc1" : "avc1";
    const cfg = t.codec === "hevc" ? "hvcC" : "avcC";
    return writeBox(
      type,
      new Uint8Array(6),
      u16(1), // data_reference_index
      new Uint8Array(16),
      u16(t.width ?? 0),
      u16(t.height ?? 0),
      u32(0x0048_0000),
      u32(0x0048_0000),
      u32(0),
      u16(1), // frame_count
      new Uint8Array(32), // compressorname
      u16(0x0018),
      u16(0xffff),
      writeBox(cfg, t.config ?? new Uint8Array(0)),
    );
  }
  const objectType = t.codec === "mp3" ? 0x6b : 0x40;
  const specific = t.config ? descriptor(0x05, t.config) : new Uint8Array(0);
  const decoderConfig = descriptor(
    0x04,
    new Uint8Array([objectType, 0x15, 0, 0, 0]),
    new Uint8Array(8),
    specific,
  );
  const es = descriptor(
    0x03,
    u16(1),
    new Uint8Array([0]),
    decoderConfig,
    descriptor(0x06, new Uint8Array([0x02])),
  );
  return writeBox(
    "mp4a",
    new Uint8Array(6),
    u16(1),
    new Uint8Array(8),
    u16(t.channels ?? 2),
    u16(16),
    u16(0),
    u16(0),
    u32(((t.sampleRate ?? 44100) & 0xffff) * 0x10000),
    writeFullBox("esds", 0, 0, es),
  );
}

/** An MPEG-4 descriptor (ISO/IEC 14496-1 §8.3.3) with a 4-byte length. */
function descriptor(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.byteLength;
  const out = new Uint8Array(5 + len);
  out[0] = tag;
  out[1] = 0x80 | ((len >> 21) & 0x7f);
  out[2] = 0x80 | ((len >> 14) & 0x7f);
  out[3] = 0x80 | ((len >> 7) & 0x7f);
  out[4] = len & 0x7f;
  let o = 5;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

function u16(v: number): Uint8Array {
  return new Uint8Array([(v >> 8) & 0xff, v & 0xff]);
}
function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}
