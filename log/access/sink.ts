/**
 * Where access log lines go: stdout, stderr or a file, written off the serving path.
 *
 * `write(line)` only appends to a bounded in-memory buffer and returns: it never waits on the
 * disk. One asynchronous write is in flight at a time and takes everything buffered meanwhile,
 * so batches grow with the load and a slow disk costs memory up to {@link MAX_BUFFERED_BYTES},
 * then dropped lines (counted), never a stalled viewer. A file is opened for appending
 * (created when missing) and reopened on SIGHUP, after the write in flight, so logrotate's
 * `postrotate kill -HUP` moves the old file away without a lost or torn line (nginx reopens on
 * USR1; Meridian's HUP does nothing else).
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Bytes of lines buffered before new lines are dropped (about 10,000 request lines). */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** A write that has not completed after this long counts as failed and its batch is dropped. */
export const WRITE_TIMEOUT_MS = 30_000;

/** Codes of {@link AccessLogError}. */
export const AccessLogErrorCode = {
  /** The file cannot be opened (at start-up: it names the path). */
  Open: "ACCESS_LOG_OPEN",
} as const;

/** An access log that cannot start. */
export class AccessLogError extends CodedError<
  typeof AccessLogErrorCode[keyof typeof AccessLogErrorCode]
> {
  override name = "AccessLogError";
}

/** The little of a file or stdio stream the sink needs. */
export interface LineWriter {
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/** Opens the destination (again, on SIGHUP). */
export type OpenWriter = () => Promise<LineWriter>;

/** Counters of a sink (for `/metrics`). */
export interface SinkStats {
  /** Lines written. */
  written: number;
  /** Lines dropped: the buffer was full, or their write failed. */
  dropped: number;
  /** Writes (or reopens) that failed. */
  errors: number;
  /** Times the file was reopened. */
  reopens: number;
}

/** Options of {@link LineSink}. */
export interface LineSinkOptions {
  /** @default MAX_BUFFERED_BYTES */
  readonly maxBufferedBytes?: number;
  /** Told once per failure streak (a full disk, a removed directory). */
  readonly onError?: (message: string, error: unknown) => void;
}

const encoder = new TextEncoder();

/**
 * A buffered, non-blocking line writer.
 *
 * @example
 * ```ts
 * import { LineSink } from "./sink.ts";
 * import assert from "node:assert/strict";
 * const got: string[] = [];
 * const sink = await LineSink.open(async () => ({
 *   write: async (b) => (got.push(new TextDecoder().decode(b)), b.length),
 *   close() {},
 * }));
 * sink.write("a");
 * sink.write("b");
 * await sink.close();
 * assert.equal(got.join(""), "a\nb\n");
 * ```
 */
export class LineSink {
  readonly stats: SinkStats = { written: 0, dropped: 0, errors: 0, reopens: 0 };
  readonly #open: OpenWriter;
  readonly #maxBytes: number;
  readonly #onError: (message: string, error: unknown) => void;
  #writer: LineWriter;
  #lines: string[] = [];
  #bytes = 0;
  #flushing: Promise<void> | undefined;
  #reopen = false;
  #closed = false;
  #failing = false;

  private constructor(
    writer: LineWriter,
    open: OpenWriter,
    options: LineSinkOptions,
  ) {
    this.#writer = writer;
    this.#open = open;
    this.#maxBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    this.#onError = options.onError ?? (() => {});
  }

  /**
   * Opens the destination once (so a bad path stops start-up) and returns the sink.
   *
   * @throws What `open` throws.
   */
  static async open(
    open: OpenWriter,
    options: LineSinkOptions = {},
  ): Promise<LineSink> {
    return new LineSink(await open(), open, options);
  }

  /** Lines (and bytes) waiting for the disk. */
  get buffered(): { lines: number; bytes: number } {
    return { lines: this.#lines.length, bytes: this.#bytes };
  }

  /** Queues one line (without its newline); drops and counts it when the buffer is full. */
  write(line: string): void {
    if (this.#closed) return;
    const size = line.length + 1;
    if (this.#bytes + size > this.#maxBytes) {
      this.stats.dropped++;
      return;
    }
    this.#lines.push(line);
    this.#bytes += size;
    if (!this.#flushing) this.#flushing = this.#flush();
  }

  /** Reopens the destination after the write in flight (SIGHUP, logrotate). */
  reopen(): void {
    if (this.#closed) return;
    this.#reopen = true;
    if (!this.#flushing) this.#flushing = this.#flush();
  }

  /** Writes what is buffered, then closes the destination. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#flushing) await this.#flushing;
    this.#writer.close();
  }

  async #flush(): Promise<void> {
    // Let the current task finish first: every line of one tick goes into one write.
    await Promise.resolve();
    try {
      while (this.#lines.length > 0 || this.#reopen) {
        if (this.#reopen) {
          this.#reopen = false;
          await this.#reopenNow();
          continue;
        }
        const lines = this.#lines;
        this.#lines = [];
        this.#bytes = 0;
        const bytes = encoder.encode(lines.join("\n") + "\n");
        try {
          await this.#writeAll(bytes);
          this.stats.written += lines.length;
          this.#failing = false;
        } catch (e) {
          this.stats.errors++;
          this.stats.dropped += lines.length;
          if (!this.#failing) {
            this.#failing = true;
            this.#onError("access log write failed", e);
          }
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`write took over ${WRITE_TIMEOUT_MS} ms`)),
        WRITE_TIMEOUT_MS,
      );
    });
    try {
      let off = 0;
      while (off < bytes.length) {
        off += await Promise.race([
          this.#writer.write(off === 0 ? bytes : bytes.subarray(off)),
          timeout,
        ]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async #reopenNow(): Promise<void> {
    let next: LineWriter;
    try {
      next = await this.#open();
    } catch (e) {
      // Keep writing to the old file (still open): nothing is lost, the operator sees why.
      this.stats.errors++;
      this.#onError("access log reopen failed", e);
      return;
    }
    const old = this.#writer;
    this.#writer = next;
    this.stats.reopens++;
    try {
      old.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Opens a destination: `stdout`, `stderr` or a file path (appended to, created with mode 0640
 * when missing).
 *
 * @throws {AccessLogError} `ACCESS_LOG_OPEN` naming the path.
 */
export function openDestination(destination: string): OpenWriter {
  if (destination === "stdout" || destination === "stderr") {
    const stream = destination === "stdout" ? Deno.stdout : Deno.stderr;
    return () =>
      Promise.resolve({
        write: (b) => stream.write(b),
        close() {}, // never closes the process's stdio
      });
  }
  return async () => {
    try {
      return await Deno.open(destination, {
        write: true,
        append: true,
        create: true,
        mode: 0o640,
      });
    } catch (cause) {
      throw new AccessLogError(
        AccessLogErrorCode.Open,
        `Cannot open access log '${destination}': ${
          cause instanceof Error ? cause.message : String(cause)
        }`,
        { cause },
      );
    }
  };
}
