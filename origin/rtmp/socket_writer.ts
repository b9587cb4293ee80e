/**
 * The RTMP server's write side of one socket: one write loop over a byte-bounded queue, what is
 * queued meanwhile coalesced into the next write (the syscall count, not the bytes, is the
 * cost), and a cap a slow player runs into instead of holding memory.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";

/**
 * One write loop per socket over a byte-bounded queue. Control output is never refused; viewer
 * output is refused once the queue passes the cap, so a slow player cannot hold memory.
 */
export class SocketWriter {
  #conn: Deno.Conn;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #writing = false;
  #closed = false;
  #onError: (err: unknown) => void;
  #idle: Array<() => void> = [];
  #written = 0;

  constructor(conn: Deno.Conn, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Bytes written to the socket so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  /** Queues bytes; false when closed or when `capBytes` would be passed. */
  enqueue(bytes: Uint8Array, capBytes = Infinity): boolean {
    if (this.#closed) return false;
    if (this.#queuedBytes + bytes.byteLength > capBytes) return false;
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.byteLength;
    if (!this.#writing) void this.#loop();
    return true;
  }

  /** Resolves once everything queued has been written (or the writer closed). */
  drained(): Promise<void> {
    if (!this.#writing || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#wake();
  }

  #wake(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }

  async #loop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        // Coalesce what is queued into one write: the syscall count, not the bytes, is the cost.
        const parts = this.#queue;
        this.#queue = [];
        const bytes = concatBytes(parts);
        let off = 0;
        while (off < bytes.byteLength) {
          const n = await this.#conn.write(bytes.subarray(off));
          off += n;
          this.#written += n;
        }
        this.#queuedBytes -= bytes.byteLength;
      }
    } catch (err) {
      if (!this.#closed) this.#onError(err);
    } finally {
      this.#writing = false;
      this.#wake();
    }
  }
}
