/**
 * A bounds-checked big-endian cursor over a `Uint8Array`.
 *
 * Reads past the end throw {@link ShortReadError}, which decoders either turn into
 * "need more bytes" (incremental parsers) or into their own format error.
 *
 * @module
 */

/** Thrown when a read would run past the end of the buffer. */
export class ShortReadError extends Error {
  override name = "ShortReadError";
  readonly code = "SHORT_READ";
  constructor(readonly needed: number, readonly available: number) {
    super(`Cannot read: need ${needed} bytes, got ${available}`);
  }
}

/**
 * Cursor over bytes; all multi-byte integers are big-endian unless named otherwise.
 *
 * @example
 * ```ts
 * import { ByteReader } from "./reader.ts";
 * import assert from "node:assert/strict";
 * const r = new ByteReader(new Uint8Array([1, 0, 2, 0, 0, 3]));
 * assert.equal(r.u8(), 1);
 * assert.equal(r.u16(), 2);
 * assert.equal(r.u24(), 3);
 * ```
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  offset: number;

  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  #need(n: number): void {
    if (this.offset + n > this.bytes.byteLength) {
      throw new ShortReadError(n, this.remaining);
    }
  }

  u8(): number {
    this.#need(1);
    return this.bytes[this.offset++]!;
  }

  u16(): number {
    this.#need(2);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  u24(): number {
    this.#need(3);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 3;
    return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
  }

  /** Signed 24-bit (FLV composition time offset). */
  i24(): number {
    const v = this.u24();
    return v & 0x800000 ? v - 0x1000000 : v;
  }

  u32(): number {
    this.#need(4);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  /** Little-endian 32-bit (RTMP message stream id). */
  u32le(): number {
    this.#need(4);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  f64(): number {
    this.#need(8);
    const v = this.view.getFloat64(this.offset);
    this.offset += 8;
    return v;
  }

  /** A view (no copy) of the next `n` bytes. */
  take(n: number): Uint8Array {
    this.#need(n);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  skip(n: number): void {
    this.#need(n);
    this.offset += n;
  }
}
