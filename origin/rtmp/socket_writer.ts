/**
 * The RTMP server's write side of one socket: one write loop over a byte-bounded queue, small
 * pieces queued meanwhile merged into the next write (the syscall count is the cost) while
 * large shared ones (the fan-out's flushes and cached frames, the same buffer for every viewer)
 * go out as they are, and a cap a slow player runs into instead of holding memory.
 *
 * @module
 */

import { ByteQueue, MERGE_MAX_BYTES } from "../../codec/bytes/queue.ts";

/**
 * One write loop per socket over a byte-bounded queue. Control output is never refused; viewer
 * output is refused once the queue passes the cap, so a slow player cannot hold memory.
 */
export class SocketWriter {
  #conn: Deno.Conn;
  #queue = new ByteQueue();
  /** Bytes of the write in progress (still counted against the cap until written). */
  #inFlight = 0;
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
    return this.#queue.bytes + this.#inFlight;
  }

  /** Bytes written to the socket so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  /** Queues bytes; false when closed or when `capBytes` would be passed. */
  enqueue(bytes: Uint8Array, capBytes = Infinity): boolean {
    if (this.#closed) return false;
    if (this.queuedBytes + bytes.byteLength > capBytes) return false;
    this.#queue.push(bytes);
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
    this.#queue.clear();
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
      for (;;) {
        if (this.#closed) break;
        const bytes = this.#queue.take(MERGE_MAX_BYTES);
        if (!bytes) break;
        this.#inFlight = bytes.byteLength;
        let off = 0;
        while (off < bytes.byteLength) {
          const n = await this.#conn.write(bytes.subarray(off));
          off += n;
          this.#written += n;
        }
        this.#inFlight = 0;
      }
    } catch (err) {
      if (!this.#closed) this.#onError(err);
    } finally {
      this.#inFlight = 0;
      this.#writing = false;
      this.#wake();
    }
  }
}
