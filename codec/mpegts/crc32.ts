/**
 * The CRC32 of MPEG-2 PSI sections (ISO/IEC 13818-1 Annex A): polynomial 0x04C11DB7,
 * initial value 0xFFFFFFFF, no bit reflection, no final XOR. A section including its CRC
 * field checks to 0.
 *
 * @module
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) {
      c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    }
    table[i] = c >>> 0;
  }
  return table;
})();

/**
 * Computes the MPEG-2 CRC32.
 *
 * @param bytes The bytes to check (a PSI section from table_id up to, excluding, CRC_32).
 * @returns The CRC as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * import { crc32Mpeg2 } from "./crc32.ts";
 * import assert from "node:assert/strict";
 * // The CRC-32/MPEG-2 check value of the ASCII digits "123456789".
 * assert.equal(crc32Mpeg2(new TextEncoder().encode("123456789")), 0x0376e6e7);
 * ```
 */
export function crc32Mpeg2(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.byteLength; i++) {
    crc = (crc << 8) ^ TABLE[((crc >>> 24) ^ bytes[i]!) & 0xff]!;
  }
  return crc >>> 0;
}
