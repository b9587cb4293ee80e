/**
 * Frame bytes of a playing item, read from its file in blocks as they come due: a film of
 * several GB is never held in memory, only two blocks of it.
 *
 * Two blocks, least recently used replaced: an interleaved file (audio and video side by side,
 * as ffmpeg and every FLV write them) reads sequentially through one block; an MP4 whose
 * tracks lie in separate runs (all video, then all audio) reads each run through its own
 * block, instead of re-reading a block at every switch between tracks.
 *
 * @module
 */

import { VirtualLiveError, VirtualLiveErrorCode } from "./errors.ts";

/** Bytes read at a time (a second of 8 Mbit/s video). */
export const SAMPLE_BLOCK_BYTES = 1024 * 1024;
/** Blocks kept: one per region of the file read at once (see the module notes). */
export const SAMPLE_BLOCKS = 2;
/**
 * Largest frame read (bytes): an index claiming more is bad (a 4K intra frame is a few MB);
 * such a frame is refused rather than allocated.
 */
export const MAX_SAMPLE_BYTES = 32 * 1024 * 1024;

interface Block {
  readonly at: number;
  /** {@link SAMPLE_BLOCK_BYTES} long, reused when the block is replaced. */
  readonly buffer: Uint8Array;
  /** Bytes of `buffer` holding the file from `at` (short only at the end of the file). */
  readonly length: number;
}

/** Reads frames of one open file. */
export class SampleReader {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  /** Most recently used last. */
  #blocks: Block[] = [];
  #closed = false;

  private constructor(file: Deno.FsFile, path: string) {
    this.#file = file;
    this.#path = path;
  }

  /**
   * Opens `path` for reading.
   *
   * @throws {Deno.errors.NotFound} And the other errors of `Deno.open`.
   */
  static async open(path: string): Promise<SampleReader> {
    return new SampleReader(await Deno.open(path, { read: true }), path);
  }

  /**
   * A copy of `size` bytes at `offset` (the hub keeps frames in its GOP cache, so the bytes
   * must not be a view of a block that is later overwritten).
   *
   * @param into Where to put them (its first `size` bytes); a new array when not given.
   * @throws {RangeError} When `size` is over {@link MAX_SAMPLE_BYTES}.
   * @throws {VirtualLiveError} `VIRTUAL_LIVE_TRUNCATED` when the file ends first (it was cut
   *   short since it was indexed).
   */
  async read(
    offset: number,
    size: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    if (size > MAX_SAMPLE_BYTES) {
      throw new RangeError(
        `Cannot read frame of ${this.#path}: ${size} bytes at ${offset}, over ${MAX_SAMPLE_BYTES}`,
      );
    }
    const out = into ?? new Uint8Array(size);
    if (size > SAMPLE_BLOCK_BYTES) {
      await this.#readExact(offset, out.subarray(0, size));
      return out;
    }
    let block = this.#blocks.find((b) =>
      offset >= b.at && offset + size <= b.at + b.length
    );
    if (block) {
      this.#blocks = [...this.#blocks.filter((b) => b !== block), block];
    } else {
      // The least recently used block's memory takes the new read: no allocation per block.
      const reuse = this.#blocks.length >= SAMPLE_BLOCKS
        ? this.#blocks.shift()!.buffer
        : new Uint8Array(SAMPLE_BLOCK_BYTES);
      const got = await this.#readSome(offset, reuse);
      if (got < size) throw this.#truncated(offset + got, offset + size);
      block = { at: offset, buffer: reuse, length: got };
      this.#blocks.push(block);
    }
    const from = offset - block.at;
    out.set(block.buffer.subarray(from, from + size));
    return out;
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#blocks = [];
    this.#file.close();
  }

  async #readExact(offset: number, out: Uint8Array): Promise<void> {
    const got = await this.#readSome(offset, out);
    if (got < out.byteLength) {
      throw this.#truncated(offset + got, offset + out.byteLength);
    }
  }

  #truncated(endsAt: number, wanted: number): VirtualLiveError {
    return new VirtualLiveError(
      VirtualLiveErrorCode.Truncated,
      `Cannot read frame of ${this.#path}: the file ends at ${endsAt}, before ${wanted}`,
    );
  }

  /** Fills `out` from `offset` as far as the file goes; returns the bytes read. */
  async #readSome(offset: number, out: Uint8Array): Promise<number> {
    await this.#file.seek(offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < out.byteLength) {
      const n = await this.#file.read(out.subarray(got));
      if (n === null) break;
      got += n;
    }
    return got;
  }
}
