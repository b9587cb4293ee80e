/**
 * A queue of byte buffers waiting for one socket, taken out as writes that keep shared buffers
 * shared: a large buffer goes out as it is (no copy), runs of small ones are merged into one
 * write of at most a bound.
 *
 * Why: a live fan-out hands the same buffer (a flush of tags, a cached GOP's frames) to every
 * viewer. Merging a whole backlog into one buffer per write saves syscalls but turns shared
 * memory into a private copy per viewer — with 500 viewers joining at once, a copy of the start-up
 * burst each (hundreds of KiB apiece). Merging only small pieces bounds what a viewer holds of
 * its own to {@link ByteQueue.take}'s bound while keeping the syscall count low where it matters
 * (many small tags).
 *
 * @module
 */

/**
 * The merge bound the servers use: a write of small pieces holds at most this much of a
 * viewer's own memory, and 16 KiB of tags (a few video frames or ~40 audio frames) per write
 * keeps the syscall count of a backlog close to one write per flush.
 */
export const MERGE_MAX_BYTES = 16 * 1024;

/** A FIFO of byte buffers with its total length. */
export class ByteQueue {
  #items: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;

  /** Bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  get isEmpty(): boolean {
    return this.#head === this.#items.length;
  }

  push(b: Uint8Array): void {
    if (b.byteLength === 0) return;
    this.#items.push(b);
    this.#bytes += b.byteLength;
  }

  /** Forgets everything queued. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  /**
   * The next write: the first buffer alone when it holds `mergeMax` bytes or more (returned
   * as it is), else it and the small ones after it merged into one new buffer of at most
   * `mergeMax` bytes. Undefined when empty.
   *
   * @example
   * ```ts
   * import { ByteQueue } from "./queue.ts";
   * const q = new ByteQueue();
   * const big = new Uint8Array(100);
   * q.push(new Uint8Array([1])); q.push(new Uint8Array([2])); q.push(big);
   * if (q.take(10)!.join() !== "1,2") throw new Error("small ones merge");
   * if (q.take(10) !== big) throw new Error("a big one goes out as it is");
   * ```
   */
  take(mergeMax: number): Uint8Array | undefined {
    const items = this.#items;
    if (this.#head === items.length) return undefined;
    const first = items[this.#head]!;
    let end = this.#head + 1;
    let total = first.byteLength;
    if (total < mergeMax) {
      while (
        end < items.length && total + items[end]!.byteLength <= mergeMax
      ) total += items[end++]!.byteLength;
    }
    let out: Uint8Array;
    if (end === this.#head + 1) out = first;
    else {
      out = new Uint8Array(total);
      let o = 0;
      for (let i = this.#head; i < end; i++) {
        out.set(items[i]!, o);
        o += items[i]!.byteLength;
      }
    }
    for (let i = this.#head; i < end; i++) items[i] = EMPTY;
    this.#head = end;
    this.#bytes -= total;
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }
}

const EMPTY = new Uint8Array(0);
