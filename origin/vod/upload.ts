/**
 * Writing to a media library: resumable uploads, moves (renames) and deletes, for the origin's
 * admin API (`/admin{prefix}{path}`, see ./admin_http.ts) that control's console calls.
 *
 * An upload is a series of `PUT`s, each carrying `Content-Range: bytes START-END/TOTAL` (RFC
 * 9110 §14.4), START being what the server already has; `Content-Range: bytes *\/TOTAL` with no
 * body asks how much that is, so a client that lost its connection goes on from there. The
 * bytes go to a partial file in the library's hidden `.uploads/` folder (hidden entries are
 * never listed or served), on the same file system as the library, and the last chunk renames
 * it into place: a reader sees the old file or the whole new one, never a part (rename(2) is
 * atomic). Paths are checked as request paths are ({@link checkRelPath}), and the folder a
 * file lands in must resolve inside the library's real root, so no symlink leads a write out.
 *
 * @module
 */

import { VodError, VodErrorCode } from "./errors.ts";
import {
  checkRelPath,
  extensionOf,
  type Library,
  MEDIA_EXTENSIONS,
} from "./library.ts";

/** The hidden folder of partial uploads, in each library's root. */
export const UPLOAD_DIR = ".uploads";
/** Partial uploads one library keeps at once; more are refused until some finish. */
export const MAX_PENDING_UPLOADS = 64;
/** A partial upload untouched this long is deleted when the next upload starts (ms). */
export const STALE_UPLOAD_MS = 24 * 3600 * 1000;
/** Largest single chunk (bytes), whatever the HTTP server's own body bound. */
export const MAX_UPLOAD_CHUNK_BYTES = 64 * 1024 * 1024;

/** A `Content-Range` of an upload request. */
export type UploadRange =
  | {
    readonly kind: "chunk";
    readonly start: number;
    readonly end: number;
    readonly total: number;
  }
  | { readonly kind: "status"; readonly total: number };

/** Where an upload stands. */
export interface UploadState {
  /** The path in the library. */
  readonly path: string;
  /** Bytes the server has. */
  readonly received: number;
  readonly total: number;
  /** True once the file is in place. */
  readonly complete: boolean;
}

const RANGE_RE = /^bytes +(?:(\d{1,15})-(\d{1,15})|\*)\/(\d{1,15})$/i;

function badRequest(message: string): VodError {
  return new VodError(VodErrorCode.BadRequest, message);
}

/**
 * Parses an upload's `Content-Range` (RFC 9110 §14.4; `*` for the range, with the total, asks
 * for the state).
 *
 * @throws {VodError} `VOD_BAD_REQUEST` for a malformed or inconsistent range.
 * @example
 * ```ts
 * import { parseUploadRange } from "./upload.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseUploadRange("bytes 0-99/1000"), { kind: "chunk", start: 0, end: 99, total: 1000 });
 * assert.deepEqual(parseUploadRange("bytes *\/1000"), { kind: "status", total: 1000 });
 * assert.throws(() => parseUploadRange("bytes 10-5/1000"));
 * ```
 */
export function parseUploadRange(header: string): UploadRange {
  const m = RANGE_RE.exec(header.trim());
  if (!m) {
    throw badRequest(
      `Cannot read Content-Range: got ${
        JSON.stringify(header.slice(0, 64))
      }, expected 'bytes START-END/TOTAL' or 'bytes */TOTAL'`,
    );
  }
  const total = Number(m[3]);
  if (m[1] === undefined) return { kind: "status", total };
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start || end >= total) {
    throw badRequest(
      `Cannot read Content-Range: bytes ${start}-${end} do not lie within a total of ${total}`,
    );
  }
  return { kind: "chunk", start, end, total };
}

interface PartMeta {
  readonly path: string;
  readonly total: number;
}

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function lstat(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Options of {@link LibraryWriter}. */
export interface LibraryWriterOptions {
  /** Largest file an upload may make (bytes; `origin.vod.maxUploadBytes`). */
  readonly maxUploadBytes: number;
  /** Unix ms. @default Date.now */
  readonly clock?: () => number;
}

/** Writes into the libraries: uploads, moves, deletes. One writer per origin. */
export class LibraryWriter {
  readonly #o: LibraryWriterOptions;
  readonly #clock: () => number;
  /** Paths with a write running (`prefix` + path): one at a time each. */
  readonly #busy = new Set<string>();

  constructor(options: LibraryWriterOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Takes one upload request: a status query, a chunk, or (no range) the whole file.
   *
   * @param length The body's length (`Content-Length`), required without a range.
   * @throws {VodError} `VOD_BAD_PATH`, `VOD_UNSUPPORTED` (not a media file name),
   *   `VOD_TOO_LARGE`, `VOD_CONFLICT` (wrong offset, a file in the way without `overwrite`,
   *   another write of the path running, too many uploads), `VOD_BAD_REQUEST`.
   */
  async upload(
    lib: Library,
    encodedPath: string,
    range: UploadRange | undefined,
    body: ReadableStream<Uint8Array> | null,
    length: number | undefined,
    overwrite: boolean,
  ): Promise<UploadState> {
    const rel = checkRelPath(encodedPath);
    if (!(extensionOf(rel) in MEDIA_EXTENSIONS)) {
      throw new VodError(
        VodErrorCode.Unsupported,
        `Cannot upload '${rel.slice(0, 256)}': expected a media file name (${
          Object.keys(MEDIA_EXTENSIONS).join(", ")
        })`,
      );
    }
    if (range === undefined) {
      if (length === undefined) {
        throw badRequest(
          "Cannot upload: expected Content-Length or Content-Range",
        );
      }
      range = length === 0
        ? { kind: "status", total: 0 }
        : { kind: "chunk", start: 0, end: length - 1, total: length };
    }
    if (range.total > this.#o.maxUploadBytes) {
      throw new VodError(
        VodErrorCode.TooLarge,
        `Cannot upload '${
          rel.slice(0, 256)
        }': ${range.total} bytes is over the limit of ${this.#o.maxUploadBytes} (origin.vod.maxUploadBytes)`,
      );
    }
    const key = `${lib.prefix}${rel}`;
    if (this.#busy.has(key)) {
      throw new VodError(
        VodErrorCode.Conflict,
        `Cannot upload '${
          rel.slice(0, 256)
        }': another write of this path is running`,
      );
    }
    this.#busy.add(key);
    try {
      return await this.#upload(lib, rel, range, body, length, overwrite);
    } finally {
      this.#busy.delete(key);
    }
  }

  async #upload(
    lib: Library,
    rel: string,
    range: UploadRange,
    body: ReadableStream<Uint8Array> | null,
    length: number | undefined,
    overwrite: boolean,
  ): Promise<UploadState> {
    const root = await this.#root(lib);
    const target = await this.#target(root, rel);
    const dir = `${root}/${UPLOAD_DIR}`;
    const id = await sha256Hex(rel);
    const part = `${dir}/${id}.part`;
    const metaPath = `${dir}/${id}.json`;
    const meta = await this.#readMeta(metaPath);
    const partInfo = meta ? await lstat(part) : undefined;
    const received = meta && partInfo && meta.total === range.total
      ? partInfo.size
      : 0;
    if (range.kind === "status") {
      return { path: rel, received, total: range.total, complete: false };
    }
    const state = (received: number, complete: boolean): UploadState => ({
      path: rel,
      received,
      total: range.total,
      complete,
    });
    if (range.start !== received) {
      await body?.cancel().catch(() => {});
      throw new VodError(
        VodErrorCode.Conflict,
        `Cannot upload '${
          rel.slice(0, 256)
        }': the chunk starts at byte ${range.start}, expected ${received} (send 'Content-Range: bytes */${range.total}' to ask)`,
      );
    }
    const want = range.end - range.start + 1;
    if (want > MAX_UPLOAD_CHUNK_BYTES) {
      throw new VodError(
        VodErrorCode.TooLarge,
        `Cannot upload: a chunk of ${want} bytes is over ${MAX_UPLOAD_CHUNK_BYTES}`,
      );
    }
    if (length !== undefined && length !== want) {
      throw badRequest(
        `Cannot upload: Content-Length ${length} does not match the range's ${want} bytes`,
      );
    }
    if (range.start === 0) {
      // A new upload: the file in the way is refused now, not after the last byte.
      const existing = await lstat(target);
      if (existing && (!overwrite || !existing.isFile)) {
        throw new VodError(
          VodErrorCode.Conflict,
          `Cannot upload '${rel.slice(0, 256)}': ${
            existing.isFile ? "a file" : "a folder"
          } is in the way (overwrite=1 replaces a file)`,
        );
      }
      await Deno.mkdir(dir, { recursive: true });
      await this.#sweep(dir, id);
      await Deno.writeTextFile(
        metaPath,
        JSON.stringify({ path: rel, total: range.total }),
      );
    }
    const f = await Deno.open(part, {
      write: true,
      create: range.start === 0,
      truncate: range.start === 0,
    });
    let written = 0;
    try {
      await f.seek(range.start, Deno.SeekMode.Start);
      if (body) {
        const reader = body.getReader();
        try {
          while (true) {
            let chunk: ReadableStreamReadResult<Uint8Array>;
            try {
              chunk = await reader.read();
            } catch {
              break; // the client went away: what arrived stays, resumable from there
            }
            const { done, value } = chunk;
            if (done) break;
            if (written + value.byteLength > want) {
              await reader.cancel().catch(() => {});
              await f.truncate(range.start);
              throw badRequest(
                `Cannot upload: the body is longer than the range's ${want} bytes`,
              );
            }
            let at = 0;
            while (at < value.byteLength) {
              at += await f.write(value.subarray(at));
            }
            written += value.byteLength;
          }
        } finally {
          reader.releaseLock();
        }
      }
    } finally {
      f.close();
    }
    const now = range.start + written;
    if (written < want) return state(now, false); // cut short: resumable from `now`
    if (now < range.total) return state(now, false);
    // The last byte: into place in one rename (same file system: the library's own folder).
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
      recursive: true,
    });
    await this.#target(root, rel); // the folder, now made, still resolves inside the root
    await Deno.rename(part, target);
    await Deno.remove(metaPath).catch(() => {});
    return state(now, true);
  }

  /**
   * Moves (renames) a file within its library, making the target's folder.
   *
   * @throws {VodError} `VOD_NOT_FOUND`, `VOD_BAD_PATH`, `VOD_UNSUPPORTED` (the new name is not
   *   a media file name), `VOD_CONFLICT` (a file in the way without `overwrite`).
   */
  async move(
    lib: Library,
    encodedFrom: string,
    to: string,
    overwrite: boolean,
  ): Promise<{ from: string; to: string }> {
    const from = checkRelPath(encodedFrom);
    const dest = checkRelPath(encodeURIComponent(to).replace(/%2F/gi, "/"));
    if (!(extensionOf(dest) in MEDIA_EXTENSIONS)) {
      throw new VodError(
        VodErrorCode.Unsupported,
        `Cannot move to '${dest.slice(0, 256)}': expected a media file name`,
      );
    }
    const file = await lib.stat(from);
    if (!file) throw notFound(from);
    const root = await this.#root(lib);
    const target = await this.#target(root, dest);
    const existing = await lstat(target);
    if (existing && (!overwrite || !existing.isFile)) {
      throw new VodError(
        VodErrorCode.Conflict,
        `Cannot move to '${dest.slice(0, 256)}': something is in the way`,
      );
    }
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
      recursive: true,
    });
    await this.#target(root, dest);
    await Deno.rename(file.realPath, target);
    return { from, to: dest };
  }

  /**
   * Deletes a file of the library.
   *
   * @throws {VodError} `VOD_NOT_FOUND`, `VOD_BAD_PATH`.
   */
  async remove(lib: Library, encodedPath: string): Promise<string> {
    const rel = checkRelPath(encodedPath);
    const file = await lib.stat(rel);
    if (!file || !(extensionOf(rel) in MEDIA_EXTENSIONS)) throw notFound(rel);
    await Deno.remove(file.realPath);
    return rel;
  }

  /** The library's real root, made when the folder does not exist yet. */
  async #root(lib: Library): Promise<string> {
    let root = await lib.realRoot();
    if (!root) {
      await Deno.mkdir(lib.root, { recursive: true });
      root = await lib.realRoot();
    }
    if (!root) throw notFound(lib.root);
    return root;
  }

  /**
   * The absolute path `rel` names under `root`, its deepest existing folder resolving inside
   * the root (a symlinked folder pointing out is refused).
   */
  async #target(root: string, rel: string): Promise<string> {
    const parts = rel.split("/");
    let dir = root;
    for (const seg of parts.slice(0, -1)) {
      const next = `${dir}/${seg}`;
      let real: string;
      try {
        real = await Deno.realPath(next);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) break; // made later, below a checked folder
        throw e;
      }
      if (real !== root && !real.startsWith(root + "/")) {
        throw new VodError(
          VodErrorCode.BadPath,
          `Cannot write '${
            rel.slice(0, 256)
          }': a folder on its way leads out of the library`,
        );
      }
      dir = next;
    }
    return `${root}/${rel}`;
  }

  async #readMeta(path: string): Promise<PartMeta | undefined> {
    try {
      const m = JSON.parse(await Deno.readTextFile(path)) as PartMeta;
      return typeof m.total === "number" ? m : undefined;
    } catch {
      return undefined;
    }
  }

  /** Deletes stale partial uploads; refuses a new one past {@link MAX_PENDING_UPLOADS}. */
  async #sweep(dir: string, keep: string): Promise<void> {
    let pending = 0;
    const now = this.#clock();
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".part") || e.name === `${keep}.part`) continue;
      const info = await lstat(`${dir}/${e.name}`);
      const age = now - (info?.mtime?.getTime() ?? 0);
      if (age > STALE_UPLOAD_MS) {
        const base = e.name.slice(0, -".part".length);
        await Deno.remove(`${dir}/${e.name}`).catch(() => {});
        await Deno.remove(`${dir}/${base}.json`).catch(() => {});
      } else pending++;
    }
    if (pending >= MAX_PENDING_UPLOADS) {
      throw new VodError(
        VodErrorCode.Conflict,
        `Cannot start an upload: ${pending} uploads are in progress (at most ${MAX_PENDING_UPLOADS})`,
      );
    }
  }
}

function notFound(path: string): VodError {
  return new VodError(
    VodErrorCode.NotFound,
    `Cannot find '${path.slice(0, 256)}' in the library`,
  );
}
