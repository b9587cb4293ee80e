/**
 * What happens to a recording file when it ends, or at start-up when the process died while
 * writing it:
 *
 * - **repair**: a file cut mid-fragment (MP4) or mid-tag (FLV) is truncated to its last whole
 *   fragment or tag, so it plays (peers leave "moov atom not found" files behind: a
 *   progressive MP4 writes its `moov` last, and a crash never gets there);
 * - **finalize**: a fragmented MP4 becomes a faststart MP4 (one `moov` first, then one
 *   `mdat` of the file's own bytes, copied by range with the VOD library's machinery), written
 *   beside it and renamed over it; an FLV gets its real `duration` in `onMetaData`, patched in
 *   place.
 *
 * @module
 */

import { FLV_HEADER_BYTES } from "../../codec/flv/mod.ts";
import { readBoxHeader, wholeFragmentsLength } from "../../codec/mp4/mod.ts";
import {
  indexMediaFile,
  Library,
  type LibraryFile,
  type MediaFile,
  mp4Source,
  type PieceSource,
  pieceStream,
} from "../vod/mod.ts";
import { ArchiveError, ArchiveErrorCode, isDiskFull } from "./errors.ts";
import { writeAll } from "./files.ts";

/** Most top-level boxes walked when repairing (two per fragment: a week of 1 s fragments). */
const MAX_REPAIR_BOXES = 2_000_000;
/** FLV tag header bytes (FLV spec E.4.1). */
const TAG_HEADER = 11;

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
  return out.subarray(0, got);
}

/** What a repair did. */
export interface RepairResult {
  /** Bytes before. */
  readonly size: number;
  /** Bytes kept (the file's size after). */
  readonly kept: number;
}

/**
 * Truncates a fragmented MP4 to its whole fragments.
 *
 * @throws {ArchiveError} `ARCHIVE_IO` when not even its `moov` is whole (nothing to keep).
 */
export async function repairMp4(path: string): Promise<RepairResult> {
  const f = await Deno.open(path, { read: true, write: true });
  try {
    const size = (await f.stat()).size;
    const boxes: { type: string; start: number; size: number }[] = [];
    let o = 0;
    for (let n = 0; o + 8 <= size && n < MAX_REPAIR_BOXES; n++) {
      const head = await readAt(f, o, 16);
      let h;
      try {
        h = readBoxHeader(head, 0, size - o);
      } catch {
        break; // a torn header: what came before is kept
      }
      if (!h || h.size === 0) break;
      boxes.push({ type: h.type, start: o, size: h.size });
      o += h.size;
    }
    const kept = wholeFragmentsLength(boxes, size);
    if (kept === 0) {
      throw new ArchiveError(
        ArchiveErrorCode.Io,
        `Cannot repair '${path}': its moov is not whole`,
      );
    }
    if (kept < size) {
      await f.truncate(kept);
      await f.syncData();
    }
    return { size, kept };
  } finally {
    f.close();
  }
}

/**
 * Truncates an FLV after its last whole tag (and that tag's PreviousTagSize).
 *
 * @returns The sizes and the last tag's timestamp (the file's duration, ms).
 */
export async function repairFlv(
  path: string,
): Promise<RepairResult & { readonly lastTimestampMs: number }> {
  const f = await Deno.open(path, { read: true, write: true });
  try {
    const size = (await f.stat()).size;
    const head = await readAt(f, 0, FLV_HEADER_BYTES);
    if (head.length < FLV_HEADER_BYTES || head[0] !== 0x46) {
      throw new ArchiveError(
        ArchiveErrorCode.Io,
        `Cannot repair '${path}': no FLV header`,
      );
    }
    let pos = new DataView(head.buffer, head.byteOffset).getUint32(5) + 4;
    let keep = pos;
    let last = 0;
    while (pos + TAG_HEADER <= size) {
      const h = await readAt(f, pos, TAG_HEADER);
      if (h.length < TAG_HEADER) break;
      const type = h[0]! & 0x1f;
      if (type !== 8 && type !== 9 && type !== 18) break;
      const dataSize = (h[1]! << 16) | (h[2]! << 8) | h[3]!;
      const end = pos + TAG_HEADER + dataSize + 4;
      if (end > size) break;
      if (type !== 18) {
        last = ((h[7]! << 24) | (h[4]! << 16) | (h[5]! << 8) | h[6]!) >>> 0;
      }
      keep = end;
      pos = end;
    }
    if (keep < size) {
      await f.truncate(keep);
      await f.syncData();
    }
    return { size, kept: keep, lastTimestampMs: last };
  } finally {
    f.close();
  }
}

/** A file as the VOD machinery reads it: in a library of its own folder. */
async function asLibraryFile(path: string): Promise<LibraryFile> {
  const info = await Deno.stat(path);
  const slash = path.lastIndexOf("/");
  return {
    library: new Library({ path: path.slice(0, slash) || "/", prefix: "/" }),
    relPath: path.slice(slash + 1),
    realPath: path,
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? 0,
  };
}

/** Indexes a media file (MP4, fragmented or not, or FLV) as the library does. */
export async function indexFile(path: string): Promise<MediaFile> {
  return await indexMediaFile(await asLibraryFile(path));
}

/** Options of {@link writePieces}. */
export interface WritePiecesOptions {
  /** Told the bytes written so far, as they go. */
  readonly onBytes?: (written: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Writes `source` (generated bytes and ranges of the file at `from`) to `to`, fsync'ed. A
 * failure removes what was written of `to`.
 *
 * @throws {ArchiveError} `ARCHIVE_DISK_FULL`, `ARCHIVE_CANCELLED` or `ARCHIVE_IO`.
 */
export async function writePieces(
  from: string,
  source: PieceSource,
  to: string,
  options: WritePiecesOptions = {},
): Promise<void> {
  const out = await Deno.open(to, {
    write: true,
    create: true,
    truncate: true,
  });
  let failed: unknown;
  try {
    const reader = pieceStream(from, source).getReader();
    let written = 0;
    try {
      for (;;) {
        if (options.signal?.aborted) {
          throw new ArchiveError(ArchiveErrorCode.Cancelled, "Cancelled");
        }
        const { done, value } = await reader.read();
        if (done) break;
        await writeAll(out, value);
        written += value.byteLength;
        options.onBytes?.(written);
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
    await out.syncData();
  } catch (err) {
    failed = err;
  } finally {
    out.close();
  }
  if (failed !== undefined) {
    await Deno.remove(to).catch(() => {});
    if (failed instanceof ArchiveError) throw failed;
    if (isDiskFull(failed)) {
      throw new ArchiveError(
        ArchiveErrorCode.DiskFull,
        `Cannot write '${to}': the disk is full`,
        { cause: failed },
      );
    }
    throw new ArchiveError(ArchiveErrorCode.Io, `Cannot write '${to}'`, {
      cause: failed,
    });
  }
}

/**
 * Rewrites a fragmented MP4 as a faststart MP4 (`moov` first, 64-bit `co64`/`mdat` past
 * 4 GiB), replacing it by rename. A file that is not fragmented is left as it is.
 *
 * @returns The new size and duration (ms).
 * @throws {ArchiveError} As {@link writePieces}; the fragmented file is kept on failure.
 */
export async function finalizeMp4(
  path: string,
): Promise<{ readonly bytes: number; readonly durationMs: number }> {
  const media = await indexFile(path);
  if (!media.fragmented) {
    return { bytes: media.file.size, durationMs: media.index.durationMs };
  }
  const source = mp4Source(media, undefined);
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const tmp = `${dir}.${path.slice(dir.length)}.faststart`;
  await writePieces(path, source, tmp);
  await Deno.rename(tmp, path);
  return { bytes: source.size, durationMs: media.index.durationMs };
}

/** The byte offset of `onMetaData`'s `duration` double in an FLV we wrote, if found. */
async function durationOffset(f: Deno.FsFile): Promise<number | undefined> {
  const head = await readAt(f, 0, 512);
  // "duration" as an AMF0 property name, then the Number marker (0x00).
  const key = new TextEncoder().encode("duration");
  for (let i = 0; i + key.length + 9 <= head.length; i++) {
    let match = head[i - 2] === 0 && head[i - 1] === key.length;
    for (let k = 0; match && k < key.length; k++) {
      if (head[i + k] !== key[k]) match = false;
    }
    if (match && head[i + key.length] === 0) return i + key.length + 1;
  }
  return undefined;
}

/** Writes `seconds` into an FLV's `onMetaData` duration, in place. */
export async function patchFlvDuration(
  path: string,
  seconds: number,
): Promise<void> {
  const f = await Deno.open(path, { read: true, write: true });
  try {
    const at = await durationOffset(f);
    if (at === undefined) return;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, seconds);
    await f.seek(at, Deno.SeekMode.Start);
    await writeAll(f, b);
    await f.syncData();
  } finally {
    f.close();
  }
}
