/**
 * One upstream body, many readers, each streaming the bytes as they arrive.
 *
 * Request coalescing needs this: the first request's origin fetch feeds every request that
 * arrived while it was in flight, and none of them waits for the whole object. The bytes are
 * kept once for every reader (never copied per reader) until the body completes, so a reader
 * that joins late starts from byte 0.
 *
 * Upstream chunks are small (16 KiB or so) and each chunk a reader hands on is one write to its
 * client: 200 waiters of a 2 MiB object meant 25,000 writes, which one core spent longer on than
 * the origin took to send the object. So the tee copies chunks into larger segments (one buffer
 * of the announced length when the origin sent Content-Length, else growing blocks), and a
 * reader at the front waits until {@link READ_MIN_BYTES} more have arrived (or the end, or
 * {@link HOLD_MAX_MS} have passed) before it takes the next piece: a few dozen writes per
 * reader, each a view of the shared bytes.
 *
 * @module
 */

/** A reader at the front hands on at least this much at a time (unless the body ended). */
export const READ_MIN_BYTES = 32 * 1024;
/** ...or whatever it has once bytes have waited this long (a slow origin is not held back). */
export const HOLD_MAX_MS = 5;
/** Largest block when the length is unknown; blocks grow from {@link READ_MIN_BYTES}. */
const MAX_BLOCK_BYTES = 256 * 1024;

/**
 * A growing, shared body.
 *
 * @example
 * ```ts
 * import { BodyTee } from "./body_tee.ts";
 * const tee = new BodyTee();
 * const text = new Response(tee.reader()).text();
 * tee.push(new TextEncoder().encode("he"));
 * tee.push(new TextEncoder().encode("llo"));
 * tee.end();
 * if (await text !== "hello") throw new Error("bad body");
 * ```
 */
export class BodyTee {
  /** Segments in order; each is full except the last while it is being filled. */
  #segs: Uint8Array[] = [];
  /** Bytes of the last segment filled so far. */
  #lastUsed = 0;
  #bytes = 0;
  #expected: number | undefined;
  #nextWake = READ_MIN_BYTES;
  /** Bytes received before the last hold timeout: readers hand these on at once. */
  #released = 0;
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  #done = false;
  #error: Error | undefined;
  #wake: PromiseWithResolvers<void> | undefined;

  /** Bytes received so far. */
  get receivedBytes(): number {
    return this.#bytes;
  }

  /** True once {@link end} was called (and not failed). */
  get done(): boolean {
    return this.#done;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * The body's announced length (Content-Length): the bytes then go into one buffer of that
   * size, which {@link concat} returns without copying. Call before the first {@link push}.
   */
  expect(bytes: number): void {
    if (this.#bytes === 0 && bytes > 0) this.#expected = bytes;
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.resolve();
  }

  /** The size of the next segment to allocate for `pending` more bytes. */
  #nextSegmentBytes(pending: number): number {
    const e = this.#expected;
    if (e !== undefined && e > this.#bytes) {
      return Math.max(e - this.#bytes, pending);
    }
    const grown = Math.min(
      MAX_BLOCK_BYTES,
      Math.max(READ_MIN_BYTES, this.#bytes),
    );
    return Math.max(grown, pending >= READ_MIN_BYTES ? pending : 0);
  }

  /** Appends a chunk (copied: the caller may reuse it). */
  push(chunk: Uint8Array): void {
    if (this.#done || this.#error || chunk.byteLength === 0) return;
    let from = 0;
    while (from < chunk.byteLength) {
      let last = this.#segs[this.#segs.length - 1];
      if (!last || this.#lastUsed === last.byteLength) {
        last = new Uint8Array(this.#nextSegmentBytes(chunk.byteLength - from));
        this.#segs.push(last);
        this.#lastUsed = 0;
      }
      const n = Math.min(
        chunk.byteLength - from,
        last.byteLength - this.#lastUsed,
      );
      last.set(chunk.subarray(from, from + n), this.#lastUsed);
      this.#lastUsed += n;
      from += n;
    }
    this.#bytes += chunk.byteLength;
    if (this.#bytes >= this.#nextWake) {
      this.#nextWake = (Math.floor(this.#bytes / READ_MIN_BYTES) + 1) *
        READ_MIN_BYTES;
      this.#notify();
    } else {
      this.#holdTimer ??= setTimeout(() => {
        this.#holdTimer = undefined;
        this.#released = this.#bytes;
        this.#notify();
      }, HOLD_MAX_MS);
    }
  }

  #clearHold(): void {
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  /** The body is complete. */
  end(): void {
    if (this.#error) return;
    this.#done = true;
    this.#clearHold();
    this.#notify();
  }

  /** The body broke: every reader errors (its client sees a truncated response). */
  fail(error: Error): void {
    if (this.#done || this.#error) return;
    this.#error = error;
    this.#clearHold();
    this.#notify();
  }

  /** The complete body as one buffer (no copy when it is one exact segment); only valid once {@link done}. */
  concat(): Uint8Array {
    if (this.#segs.length === 1) {
      const only = this.#segs[0]!;
      // An oversized last block would keep its unused tail alive in the cache: trim it.
      return this.#lastUsed === only.byteLength
        ? only
        : only.slice(0, this.#lastUsed);
    }
    const out = new Uint8Array(this.#bytes);
    let o = 0;
    this.#segs.forEach((s, i) => {
      const used = i === this.#segs.length - 1 ? this.#lastUsed : s.byteLength;
      out.set(used === s.byteLength ? s : s.subarray(0, used), o);
      o += used;
    });
    return out;
  }

  /** Resolves when more bytes, the end or an error arrive. */
  #waitMore(): Promise<void> {
    this.#wake ??= Promise.withResolvers<void>();
    return this.#wake.promise;
  }

  /** Valid bytes of segment `i`. */
  #usedOf(i: number): number {
    return i === this.#segs.length - 1
      ? this.#lastUsed
      : this.#segs[i]!.byteLength;
  }

  /**
   * The next piece of `[c.pos, end)` that may be handed on now (a view of the shared bytes),
   * `null` when there is nothing more, or `undefined` to wait for more. Throws the body's error.
   */
  #take(c: Cursor, end: number): Uint8Array | null | undefined {
    if (c.pos >= end) return null;
    if (this.#error) throw this.#error;
    // Skip whole segments before `pos`.
    while (
      c.seg < this.#segs.length - 1 &&
      c.segStart + this.#usedOf(c.seg) <= c.pos
    ) {
      c.segStart += this.#segs[c.seg]!.byteLength;
      c.seg++;
    }
    const ahead = this.#bytes - c.pos;
    if (
      ahead > 0 &&
      (ahead >= READ_MIN_BYTES || this.#done || this.#bytes >= end ||
        c.pos < this.#released)
    ) {
      const s = this.#segs[c.seg]!;
      const from = c.pos - c.segStart;
      const to = Math.min(this.#usedOf(c.seg), end - c.segStart);
      if (to > from) {
        const part = from === 0 && to === s.byteLength
          ? s
          : s.subarray(from, to);
        c.pos += part.byteLength;
        return part;
      }
    }
    return this.#done ? null : undefined;
  }

  /**
   * Bytes `[start, end)` of the body as they arrive, for a writer that takes them one by one
   * (the HTTP/1.1 server's fast path: no stream machinery per piece).
   *
   * @param start First byte. @default 0
   * @param end One past the last byte. @default the whole body
   * @param onBytes Called with each delivered piece's size (egress accounting).
   */
  async *pieces(
    start = 0,
    end = Number.POSITIVE_INFINITY,
    onBytes?: (n: number) => void,
  ): AsyncGenerator<Uint8Array> {
    const c: Cursor = { seg: 0, segStart: 0, pos: start };
    for (;;) {
      const part = this.#take(c, end);
      if (part === null) return;
      if (part === undefined) {
        await this.#waitMore();
        continue;
      }
      onBytes?.(part.byteLength);
      yield part;
    }
  }

  /**
   * A stream of bytes `[start, end)` of the body, delivered as they arrive.
   *
   * @param start First byte. @default 0
   * @param end One past the last byte. @default the whole body
   * @param onBytes Called with each delivered chunk's size (egress accounting).
   */
  reader(
    start = 0,
    end = Number.POSITIVE_INFINITY,
    onBytes?: (n: number) => void,
  ): ReadableStream<Uint8Array> {
    const c: Cursor = { seg: 0, segStart: 0, pos: start };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          let part: Uint8Array | null | undefined;
          try {
            part = this.#take(c, end);
          } catch (e) {
            controller.error(e);
            return;
          }
          if (part === null) {
            controller.close();
            return;
          }
          if (part !== undefined) {
            onBytes?.(part.byteLength);
            controller.enqueue(part);
            return;
          }
          await this.#waitMore();
        }
      },
    });
  }
}

/** A reader's place in the body: current segment, its body offset, next byte to hand on. */
interface Cursor {
  seg: number;
  segStart: number;
  pos: number;
}
