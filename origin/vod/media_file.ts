/**
 * Opening a library file as media: its sample index (MP4: `moov` and any `moof` boxes; FLV:
 * every tag's header), built once and cached while the file's size and modification time stay
 * the same, so a replaced file is re-read and an unchanged one never is.
 *
 * Only what the index needs is read: an MP4's top-level box headers and its `moov` (and
 * `moof`s), never `mdat`; an FLV's tag headers and first bytes, skipping frame payloads. The
 * cache is bounded by the bytes its indexes hold.
 *
 * @module
 */

import {
  FLV_HEADER_BYTES,
  FLV_INDEX_PEEK_BYTES,
  FlvIndexBuilder,
  type FlvMetadata,
  MAX_FLV_CONFIG_BYTES,
  needsWholeBody,
} from "../../codec/flv/mod.ts";
import {
  Mp4ErrorCode,
  Mp4FormatError,
  Mp4Fragments,
  parseMovie,
  readBoxHeader,
} from "../../codec/mp4/mod.ts";
import type { MediaIndex } from "../../codec/samples/mod.ts";
import { VodError, VodErrorCode } from "./errors.ts";
import { extensionOf, type LibraryFile, MEDIA_EXTENSIONS } from "./library.ts";

/** Largest `moov` read (bytes): a 24-hour file's tables are well below it. */
export const MAX_MOOV_BYTES = 128 * 1024 * 1024;
/** Largest `moof` read (bytes). */
export const MAX_MOOF_BYTES = 16 * 1024 * 1024;
/** Most top-level boxes walked in one MP4 (a fragmented file has two per fragment). */
export const MAX_TOP_LEVEL_BOXES = 2_000_000;
/** Bytes read at a time while indexing an FLV. */
const FLV_BLOCK_BYTES = 256 * 1024;

/** A file's index with what the listing shows about it. */
export interface MediaFile {
  readonly file: LibraryFile;
  readonly index: MediaIndex;
  /** An FLV's onMetaData (empty for MP4). */
  readonly flvMetadata: FlvMetadata;
  /** Where an MP4's `moov` is: at the start (faststart) or after `mdat`. */
  readonly moovAtStart: boolean | undefined;
  readonly fragmented: boolean;
  /** Tracks left out, with the reason. */
  readonly skipped: readonly string[];
  /** Bytes the index holds (for the cache's budget). */
  readonly indexBytes: number;
}

/** Reads `length` bytes at `offset` (short only at the end of the file). */
async function readAt(
  f: Deno.FsFile,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  await f.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = await f.read(out.subarray(got));
    if (n === null) break;
    got += n;
  }
  return got === length ? out : out.subarray(0, got);
}

/**
 * Builds the index of a library file.
 *
 * @throws {VodError} `VOD_BAD_MEDIA` for a file that is not valid media (with the codec's
 *   reason), `VOD_UNSUPPORTED` for an unknown container, `VOD_IO` when reading fails.
 */
export async function indexMediaFile(file: LibraryFile): Promise<MediaFile> {
  const container = MEDIA_EXTENSIONS[extensionOf(file.relPath)];
  if (!container) {
    throw new VodError(
      VodErrorCode.Unsupported,
      `Cannot serve '${file.relPath}': not an MP4 or FLV file`,
    );
  }
  let f: Deno.FsFile;
  try {
    f = await Deno.open(file.realPath, { read: true });
  } catch (e) {
    throw new VodError(VodErrorCode.Io, `Cannot open '${file.relPath}'`, {
      cause: e,
    });
  }
  try {
    return container === "mp4"
      ? await indexMp4(f, file)
      : await indexFlv(f, file);
  } catch (e) {
    if (e instanceof VodError) throw e;
    if (e instanceof Mp4FormatError || isCodecError(e)) {
      throw new VodError(
        e instanceof Mp4FormatError && e.code === Mp4ErrorCode.Unsupported
          ? VodErrorCode.Unsupported
          : VodErrorCode.BadMedia,
        `Cannot read '${file.relPath}': ${(e as Error).message}`,
        { cause: e },
      );
    }
    throw new VodError(VodErrorCode.Io, `Cannot read '${file.relPath}'`, {
      cause: e,
    });
  } finally {
    f.close();
  }
}

function isCodecError(e: unknown): boolean {
  return e instanceof Error && /FormatError$/.test(e.name);
}

async function indexMp4(f: Deno.FsFile, file: LibraryFile): Promise<MediaFile> {
  const size = file.size;
  let offset = 0;
  let moov: Uint8Array | undefined;
  let moovAtStart: boolean | undefined;
  let sawMdat = false;
  const moofs: number[] = [];
  /** A moof whose mdat is not whole yet (a recording being written): not indexed. */
  let pendingMoof: number | undefined;
  for (let n = 0; offset + 8 <= size; n++) {
    if (n > MAX_TOP_LEVEL_BOXES) {
      throw new Mp4FormatError(
        Mp4ErrorCode.TooLarge,
        `over ${MAX_TOP_LEVEL_BOXES} top-level boxes`,
      );
    }
    const head = await readAt(f, offset, 16);
    const h = readBoxHeader(head, 0, size - offset);
    if (!h) break;
    if (h.type === "moov") {
      if (h.size > MAX_MOOV_BYTES) {
        throw new Mp4FormatError(
          Mp4ErrorCode.TooLarge,
          `moov of ${h.size} bytes, over ${MAX_MOOV_BYTES}`,
        );
      }
      if (offset + h.size > size) {
        throw new Mp4FormatError(
          Mp4ErrorCode.Truncated,
          `moov runs past the end of the file`,
        );
      }
      moov = await readAt(f, offset, h.size);
      moovAtStart = !sawMdat;
    } else if (h.type === "mdat") {
      sawMdat = true;
      if (pendingMoof !== undefined && offset + h.size <= size) {
        moofs.push(pendingMoof);
      }
      pendingMoof = undefined;
    } else if (h.type === "moof") pendingMoof = offset;
    if (h.size === 0) break;
    offset += h.size;
  }
  if (!moov) {
    throw new Mp4FormatError(
      Mp4ErrorCode.NoMoov,
      "no moov box (an unfinished recording?)",
    );
  }
  const movie = parseMovie(moov, { fileSize: size });
  let tracks = movie.tracks;
  const fragmented = movie.extends !== undefined && moofs.length > 0;
  if (fragmented) {
    const frag = new Mp4Fragments(movie, size);
    for (const at of moofs) {
      const head = readBoxHeader(await readAt(f, at, 16), 0, size - at)!;
      if (head.size > MAX_MOOF_BYTES || at + head.size > size) break;
      frag.push(await readAt(f, at, head.size), at);
    }
    tracks = frag.finish();
  }
  tracks = tracks.filter((t) => t.samples.count > 0);
  if (tracks.length === 0) {
    throw new Mp4FormatError(
      Mp4ErrorCode.Unsupported,
      "no samples in any track",
    );
  }
  let durationMs = 0;
  let indexBytes = 0;
  for (const t of tracks) {
    const s = t.samples;
    const end = s.dts[s.count - 1]! + s.duration[s.count - 1]! - t.mediaTime;
    durationMs = Math.max(durationMs, (end * 1000) / t.timescale);
    indexBytes += s.count * 25 + (t.sampleEntry?.length ?? 0);
  }
  return {
    file,
    index: { container: "mp4", fileSize: size, durationMs, tracks },
    flvMetadata: {},
    moovAtStart,
    fragmented,
    skipped: movie.skipped,
    indexBytes,
  };
}

async function indexFlv(f: Deno.FsFile, file: LibraryFile): Promise<MediaFile> {
  const size = file.size;
  const head = await readAt(f, 0, FLV_HEADER_BYTES);
  if (
    head.length < FLV_HEADER_BYTES || head[0] !== 0x46 || head[1] !== 0x4c ||
    head[2] !== 0x56
  ) {
    throw new VodError(
      VodErrorCode.BadMedia,
      `Cannot read '${file.relPath}': no FLV signature`,
    );
  }
  const dataOffset = new DataView(head.buffer).getUint32(5);
  const b = new FlvIndexBuilder(size);
  let pos = dataOffset + 4; // PreviousTagSize0
  let block: Uint8Array = new Uint8Array(0);
  let blockAt = 0;
  const have = (at: number, n: number) =>
    at >= blockAt && at + n <= blockAt + block.length;
  while (pos + 11 <= size) {
    if (!have(pos, 11 + FLV_INDEX_PEEK_BYTES)) {
      block = await readAt(f, pos, FLV_BLOCK_BYTES);
      blockAt = pos;
      if (block.length < 11) break;
    }
    const o = pos - blockAt;
    const type = block[o]! & 0x1f;
    const dataSize = (block[o + 1]! << 16) | (block[o + 2]! << 8) |
      block[o + 3]!;
    const ts = ((block[o + 7]! << 24) | (block[o + 4]! << 16) |
      (block[o + 5]! << 8) | block[o + 6]!) >>> 0;
    const bodyAt = pos + 11;
    if (type !== 8 && type !== 9 && type !== 18) break; // lost sync: stop here
    if (bodyAt + dataSize > size) break; // the last tag is cut off
    const peekLen = Math.min(dataSize, FLV_INDEX_PEEK_BYTES);
    let body: Uint8Array = block.subarray(
      o + 11,
      Math.min(o + 11 + peekLen, block.length),
    );
    if (needsWholeBody(type, body) && dataSize <= MAX_FLV_CONFIG_BYTES) {
      body = have(bodyAt, dataSize)
        ? block.subarray(o + 11, o + 11 + dataSize)
        : await readAt(f, bodyAt, dataSize);
    }
    b.addTag(type, ts, bodyAt, dataSize, body);
    pos = bodyAt + dataSize + 4;
  }
  const index = b.finish();
  if (index.tracks.length === 0) {
    throw new VodError(
      VodErrorCode.BadMedia,
      `Cannot read '${file.relPath}': no H.264/HEVC video or AAC/MP3 audio frames`,
    );
  }
  let indexBytes = 0;
  for (const t of index.tracks) indexBytes += t.samples.count * 25;
  return {
    file,
    index,
    flvMetadata: b.metadata,
    moovAtStart: undefined,
    fragmented: false,
    skipped: [],
    indexBytes,
  };
}

/**
 * Indexes of recently used files, rebuilt when a file's size or modification time changes,
 * evicted least recently used beyond `maxBytes`. Concurrent requests for one file share one
 * build.
 */
export class MediaCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Promise<MediaFile>>();
  readonly #bytes = new Map<string, number>();
  #total = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Indexes held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#total;
  }

  /** The file's index (built or reused). */
  get(file: LibraryFile): Promise<MediaFile> {
    const key = `${file.realPath}\0${file.size}\0${file.mtimeMs}`;
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const p = indexMediaFile(file);
    this.#entries.set(key, p);
    p.then((m) => {
      if (this.#entries.get(key) !== p) return;
      this.#bytes.set(key, m.indexBytes);
      this.#total += m.indexBytes;
      this.#evict();
    }, () => this.#entries.delete(key));
    return p;
  }

  #evict(): void {
    for (const key of this.#entries.keys()) {
      if (this.#total <= this.#maxBytes || this.#entries.size <= 1) return;
      this.#entries.delete(key);
      this.#total -= this.#bytes.get(key) ?? 0;
      this.#bytes.delete(key);
    }
  }
}
