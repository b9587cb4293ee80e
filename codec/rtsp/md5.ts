/**
 * MD5 (RFC 1321), for RTSP Digest authentication (RFC 7616's MD5 algorithm, what cameras and
 * ffmpeg use). Web Crypto has no MD5; Digest's use of it is a challenge-response, not a
 * stored-password hash. Pure.
 *
 * @module
 */

const S = [
  7,
  12,
  17,
  22,
  7,
  12,
  17,
  22,
  7,
  12,
  17,
  22,
  7,
  12,
  17,
  22,
  5,
  9,
  14,
  20,
  5,
  9,
  14,
  20,
  5,
  9,
  14,
  20,
  5,
  9,
  14,
  20,
  4,
  11,
  16,
  23,
  4,
  11,
  16,
  23,
  4,
  11,
  16,
  23,
  4,
  11,
  16,
  23,
  6,
  10,
  15,
  21,
  6,
  10,
  15,
  21,
  6,
  10,
  15,
  21,
  6,
  10,
  15,
  21,
];
const K = Array.from(
  { length: 64 },
  (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0,
);

/**
 * The MD5 digest of `input` as 32 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { md5Hex } from "./md5.ts";
 * import assert from "node:assert/strict";
 * assert.equal(md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e"); // RFC 1321 §A.5
 * assert.equal(md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
 * ```
 */
export function md5Hex(input: string | Uint8Array): string {
  const msg = typeof input === "string"
    ? new TextEncoder().encode(input)
    : input;
  const n = msg.byteLength;
  const padded = new Uint8Array(((n + 8) >> 6 << 6) + 64);
  padded.set(msg);
  padded[n] = 0x80;
  const v = new DataView(padded.buffer);
  v.setUint32(padded.byteLength - 8, (n * 8) >>> 0, true);
  v.setUint32(padded.byteLength - 4, Math.floor((n * 8) / 2 ** 32), true);
  let a0 = 0x67452301;
  let b0 = 0xefcdab89;
  let c0 = 0x98badcfe;
  let d0 = 0x10325476;
  const m = new Uint32Array(16);
  for (let off = 0; off < padded.byteLength; off += 64) {
    for (let i = 0; i < 16; i++) m[i] = v.getUint32(off + 4 * i, true);
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const t = d;
      d = c;
      c = b;
      const x = (a + f + K[i]! + m[g]!) >>> 0;
      b = (b + ((x << S[i]!) | (x >>> (32 - S[i]!)))) >>> 0;
      a = t;
    }
    a0 = (a0 + a) >>> 0;
    b0 = (b0 + b) >>> 0;
    c0 = (c0 + c) >>> 0;
    d0 = (d0 + d) >>> 0;
  }
  const out = new DataView(new ArrayBuffer(16));
  [a0, b0, c0, d0].forEach((w, i) => out.setUint32(4 * i, w, true));
  return [...new Uint8Array(out.buffer)].map((x) =>
    x.toString(16).padStart(2, "0")
  ).join("");
}
