/**
 * Incremental FLV demuxer: push bytes as they arrive (file reads, HTTP-FLV responses), pull
 * complete tags.
 *
 * @module
 */

import { FlvErrorCode, FlvFormatError } from "./errors.ts";
import {
  decodeFlvHeader,
  FLV_HEADER_BYTES,
  type FlvHeader,
  PREVIOUS_TAG_SIZE_BYTES,
} from "./header.ts";
import {
  decodeFlvTagHeader,
  FLV_TAG_HEADER_BYTES,
  type FlvTagHeader,
  MAX_FLV_TAG_DATA_BYTES,
} from "./tag.ts";
import type { FlvTag } from "./types.ts";

/**
 * Default largest tag body the reader accepts, in bytes. A 4K keyframe at high bitrate is
 * a few MiB; 8 MiB leaves room while keeping a hostile DataSize (up to 16 MiB) from making
 * us buffer the maximum.
 */
export const MAX_TAG_BYTES = 8 * 1024 * 1024;

/** Options of {@link FlvReader}. */
export interface FlvReaderOptions {
  /**
   * Largest tag body accepted, in bytes; larger tags throw `FLV_TAG_TOO_LARGE` as soon as
   * their header arrives, before the body is buffered.
   * @default {MAX_TAG_BYTES}
   */
  readonly maxTagBytes?: number;
}

/**
 * Pull-based FLV reader. Reads the file header, then yields one {@link FlvTag} per tag.
 *
 * Ownership: tag bodies are views into the pushed chunks when a tag lies within one chunk
 * (no copy), so callers must not modify a chunk after pushing it. A tag spread over several
 * chunks is copied into a fresh buffer.
 *
 * After a {@link FlvFormatError} the reader is unusable: every later call throws it again.
 *
 * @example
 * ```ts
 * import { FlvReader } from "./reader.ts";
 * import { encodeFlvHeader } from "./header.ts";
 * import { encodeFlvTag } from "./tag.ts";
 * import assert from "node:assert/strict";
 *
 * const reader = new FlvReader();
 * reader.push(encodeFlvHeader({ hasAudio: true, hasVideo: false }));
 * const tag = encodeFlvTag({ type: 8, timestampMs: 23, data: new Uint8Array([0xaf, 1, 2]) });
 * reader.push(tag.subarray(0, 5)); // arbitrary split points
 * assert.equal(reader.pull(), undefined);
 * reader.push(tag.subarray(5));
 * assert.equal(reader.pull()?.timestampMs, 23);
 * assert.equal(reader.header?.hasAudio, true);
 * ```
 */
export class FlvReader {
  readonly #maxTagBytes: number;
  readonly #chunks: Uint8Array[] = [];
  #head = 0; // read offset into #chunks[0]
  #buffered = 0;
  #header: FlvHeader | undefined;
  #skipBeforeTags = 0; // header bytes beyond 9 plus PreviousTagSize0, still to skip
  #pending: FlvTagHeader | undefined;
  #failure: FlvFormatError | undefined;

  /**
   * @param options Limits; see {@link FlvReaderOptions}.
   * @throws {RangeError} If `maxTagBytes` is not an integer in 0..16777215.
   */
  constructor(options: FlvReaderOptions = {}) {
    const max = options.maxTagBytes ?? MAX_TAG_BYTES;
    if (!Number.isInteger(max) || max < 0 || max > MAX_FLV_TAG_DATA_BYTES) {
      throw new RangeError(
        `Invalid FlvReader option 'maxTagBytes': got ${max}, expected an integer 0..${MAX_FLV_TAG_DATA_BYTES}`,
      );
    }
    this.#maxTagBytes = max;
  }

  /** The file header, once its 9 bytes have been read. */
  get header(): FlvHeader | undefined {
    return this.#header;
  }

  /** Bytes pushed but not yet returned as part of a tag or header. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True when no partial header or tag is buffered (a clean end of stream). */
  get atTagBoundary(): boolean {
    return this.#header !== undefined && this.#pending === undefined &&
      this.#skipBeforeTags === 0 && this.#buffered === 0;
  }

  /**
   * Appends bytes. Any split point is fine.
   *
   * @param chunk Bytes that follow the previously pushed ones; not copied.
   * @throws {FlvFormatError} The error that earlier made the reader unusable.
   */
  push(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
  }

  /**
   * Returns the next complete tag.
   *
   * @returns The tag, or `undefined` if more bytes are needed (not an error).
   * @throws {FlvFormatError} On a bad signature, header, tag type, oversized tag or a
   * PreviousTagSize that disagrees with its tag.
   */
  pull(): FlvTag | undefined {
    if (this.#failure) throw this.#failure;
    try {
      return this.#pull();
    } catch (e) {
      if (e instanceof FlvFormatError) this.#failure = e;
      throw e;
    }
  }

  /**
   * Returns every complete tag buffered so far.
   *
   * @returns Tags in stream order; empty if more bytes are needed.
   * @throws {FlvFormatError} As {@link FlvReader.pull}.
   */
  pullAll(): FlvTag[] {
    const tags: FlvTag[] = [];
    for (let tag = this.pull(); tag; tag = this.pull()) tags.push(tag);
    return tags;
  }

  #pull(): FlvTag | undefined {
    if (!this.#header) {
      if (this.#buffered < FLV_HEADER_BYTES) return undefined;
      const header = decodeFlvHeader(this.#take(FLV_HEADER_BYTES))!;
      this.#header = header;
      this.#skipBeforeTags = header.headerBytes - FLV_HEADER_BYTES +
        PREVIOUS_TAG_SIZE_BYTES;
    }
    if (this.#skipBeforeTags > 0) {
      const n = Math.min(this.#skipBeforeTags, this.#buffered);
      if (n > 0) this.#take(n);
      this.#skipBeforeTags -= n;
      if (this.#skipBeforeTags > 0) return undefined;
    }
    if (!this.#pending) {
      if (this.#buffered < FLV_TAG_HEADER_BYTES) return undefined;
      const header = decodeFlvTagHeader(this.#take(FLV_TAG_HEADER_BYTES))!;
      if (header.dataBytes > this.#maxTagBytes) {
        throw new FlvFormatError(
          FlvErrorCode.TagTooLarge,
          `Cannot read FLV tag: body must be at most ${this.#maxTagBytes} bytes, got ${header.dataBytes}`,
        );
      }
      this.#pending = header;
    }
    const header = this.#pending;
    if (this.#buffered < header.dataBytes + PREVIOUS_TAG_SIZE_BYTES) {
      return undefined;
    }
    const data = this.#take(header.dataBytes);
    const sizeBytes = this.#take(PREVIOUS_TAG_SIZE_BYTES);
    const previousTagSize = ((sizeBytes[0]! << 24) | (sizeBytes[1]! << 16) |
      (sizeBytes[2]! << 8) | sizeBytes[3]!) >>> 0;
    const expected = FLV_TAG_HEADER_BYTES + header.dataBytes;
    // FLV spec v10.1 §E.3: PreviousTagSize is the size of the previous tag including its
    // header. A mismatch means we lost sync. Zero is tolerated: some live muxers never fill it.
    if (previousTagSize !== expected && previousTagSize !== 0) {
      throw new FlvFormatError(
        FlvErrorCode.BadPreviousTagSize,
        `Cannot read FLV tag: PreviousTagSize must be ${expected}, got ${previousTagSize}`,
      );
    }
    this.#pending = undefined;
    return { type: header.type, timestampMs: header.timestampMs, data };
  }

  /** Consumes `n` buffered bytes (caller checked `n <= #buffered`). */
  #take(n: number): Uint8Array {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (n === 0 || first === undefined) return new Uint8Array(0);
    const available = first.byteLength - this.#head;
    if (available >= n) {
      const view = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      if (this.#head === first.byteLength) {
        this.#chunks.shift();
        this.#head = 0;
      }
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const count = Math.min(n - filled, chunk.byteLength - this.#head);
      out.set(chunk.subarray(this.#head, this.#head + count), filled);
      filled += count;
      this.#head += count;
      if (this.#head === chunk.byteLength) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    return out;
  }
}

/** A whole FLV file, decoded. */
export interface FlvFile {
  readonly header: FlvHeader;
  readonly tags: FlvTag[];
}

/**
 * Decodes a complete FLV file held in memory.
 *
 * @param bytes The whole file.
 * @param options Reader limits.
 * @returns The header and every tag.
 * @throws {FlvFormatError} As {@link FlvReader.pull}, plus `FLV_TRUNCATED` if the file ends
 * inside the header or a tag.
 *
 * @example
 * ```ts
 * import { readFlvFile } from "./reader.ts";
 * import { encodeFlvHeader } from "./header.ts";
 * import assert from "node:assert/strict";
 * const file = readFlvFile(encodeFlvHeader({ hasAudio: false, hasVideo: true }));
 * assert.deepEqual(file.tags, []);
 * ```
 */
export function readFlvFile(
  bytes: Uint8Array,
  options: FlvReaderOptions = {},
): FlvFile {
  const reader = new FlvReader(options);
  reader.push(bytes);
  const tags = reader.pullAll();
  if (!reader.atTagBoundary || !reader.header) {
    throw new FlvFormatError(
      FlvErrorCode.Truncated,
      `Cannot read FLV file: input ends inside a header or tag, ${reader.bufferedBytes} bytes left over`,
    );
  }
  return { header: reader.header, tags };
}
