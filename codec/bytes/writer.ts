/**
 * A growable big-endian byte writer.
 *
 * @module
 */

/**
 * Appends integers and bytes to a buffer that doubles as needed.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const w = new ByteWriter();
 * w.u8(1).u16(2).u24(3);
 * assert.deepEqual(w.finish(), new Uint8Array([1, 0, 2, 0, 0, 3]));
 * ```
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(initialBytes = 256) {
    this.#buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#len;
  }

  #ensure(n: number): void {
    const need = this.#len + n;
    if (need <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.#ensure(1);
    this.#buf[this.#len++] = v;
    return this;
  }

  u16(v: number): this {
    this.#ensure(2);
    this.#view.setUint16(this.#len, v);
    this.#len += 2;
    return this;
  }

  u24(v: number): this {
    this.#ensure(3);
    this.#buf[this.#len] = (v >>> 16) & 0xff;
    this.#buf[this.#len + 1] = (v >>> 8) & 0xff;
    this.#buf[this.#len + 2] = v & 0xff;
    this.#len += 3;
    return this;
  }

  u32(v: number): this {
    this.#ensure(4);
    this.#view.setUint32(this.#len, v >>> 0);
    this.#len += 4;
    return this;
  }

  u32le(v: number): this {
    this.#ensure(4);
    this.#view.setUint32(this.#len, v >>> 0, true);
    this.#len += 4;
    return this;
  }

  f64(v: number): this {
    this.#ensure(8);
    this.#view.setFloat64(this.#len, v);
    this.#len += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#ensure(b.byteLength);
    this.#buf.set(b, this.#len);
    this.#len += b.byteLength;
    return this;
  }

  /** The written bytes (a view of the internal buffer; the writer must not be reused). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}
