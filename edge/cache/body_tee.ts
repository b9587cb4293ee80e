/**
 * One upstream body, many readers, each streaming the bytes as they arrive.
 *
 * Request coalescing needs this: the first request's origin fetch feeds every request that
 * arrived while it was in flight, and none of them waits for the whole object. Chunks are kept
 * (shared, never copied per reader) until the body completes, so a reader that joins late
 * starts from byte 0.
 *
 * @module
 */

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
  #chunks: Uint8Array[] = [];
  #bytes = 0;
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

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.resolve();
  }

  /** Appends a chunk; it is shared with every reader and must not be mutated. */
  push(chunk: Uint8Array): void {
    if (this.#done || this.#error || chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    this.#notify();
  }

  /** The body is complete. */
  end(): void {
    if (this.#error) return;
    this.#done = true;
    this.#notify();
  }

  /** The body broke: every reader errors (its client sees a truncated response). */
  fail(error: Error): void {
    if (this.#done || this.#error) return;
    this.#error = error;
    this.#notify();
  }

  /** The complete body as one buffer; only valid once {@link done}. */
  concat(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0]!;
    const out = new Uint8Array(this.#bytes);
    let o = 0;
    for (const c of this.#chunks) {
      out.set(c, o);
      o += c.byteLength;
    }
    return out;
  }

  /** Resolves when more bytes, the end or an error arrive. */
  #waitMore(): Promise<void> {
    this.#wake ??= Promise.withResolvers<void>();
    return this.#wake.promise;
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
    let index = 0; // next chunk
    let chunkStart = 0; // body offset of chunk `index`
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          if (chunkStart >= end) {
            controller.close();
            return;
          }
          if (index < this.#chunks.length) {
            const c = this.#chunks[index]!;
            const cStart = chunkStart;
            index++;
            chunkStart += c.byteLength;
            const from = Math.max(0, start - cStart);
            const to = Math.min(c.byteLength, end - cStart);
            if (to <= from) continue;
            const part = from === 0 && to === c.byteLength
              ? c
              : c.subarray(from, to);
            onBytes?.(part.byteLength);
            controller.enqueue(part);
            return;
          }
          if (this.#error) {
            controller.error(this.#error);
            return;
          }
          if (this.#done) {
            controller.close();
            return;
          }
          await this.#waitMore();
        }
      },
    });
  }
}
