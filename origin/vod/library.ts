/**
 * Media libraries: folders mounted at URL prefixes, and the safe mapping of a request path to a
 * file inside one.
 *
 * A request path is decoded once (percent-encoding, UTF-8: Chinese file names work), then
 * refused if any segment is empty, `.`, `..` or hidden (`.name`), or holds a backslash, NUL or
 * control character; a decoded path that still holds `%` escapes of those (double encoding) is
 * refused as well. The resolved file's real path (symlinks followed) must lie inside the
 * library's real root, so a symlink pointing out of the library is a 404, never a read.
 *
 * @module
 */

import { VodError, VodErrorCode } from "./errors.ts";

/** One library: a folder and the URL prefix it is served under. */
export interface LibraryConfig {
  /** The folder (relative to the working directory, or absolute). */
  readonly path: string;
  /** URL prefix, starting and ending with `/` (e.g. `/vod/`). */
  readonly prefix: string;
}

/** A file found in a library. */
export interface LibraryFile {
  readonly library: Library;
  /** Path inside the library, `/`-separated, no leading slash (`movies/a.mp4`). */
  readonly relPath: string;
  /** Real path on disk. */
  readonly realPath: string;
  readonly size: number;
  /** Modification time, ms since the epoch. */
  readonly mtimeMs: number;
}

/** Containers a library serves, by file extension. */
export const MEDIA_EXTENSIONS: Readonly<Record<string, "mp4" | "flv">> = {
  mp4: "mp4",
  m4v: "mp4",
  mov: "mp4",
  m4a: "mp4",
  f4v: "mp4",
  flv: "flv",
};

/** Longest request path accepted (bytes, decoded). */
export const MAX_PATH_BYTES = 1024;

/** A mounted library. */
export class Library {
  readonly prefix: string;
  readonly root: string;
  #realRoot: string | undefined;

  constructor(config: LibraryConfig) {
    this.prefix = config.prefix;
    this.root = config.path;
  }

  /** The root's real path (resolved once; a missing folder is an empty library). */
  async realRoot(): Promise<string | undefined> {
    if (this.#realRoot) return this.#realRoot;
    try {
      this.#realRoot = await Deno.realPath(this.root);
    } catch {
      return undefined;
    }
    return this.#realRoot;
  }

  /**
   * The file at `relPath` (already checked by {@link checkRelPath}), or `undefined` when it
   * does not exist, is not a regular file, or resolves outside the library.
   */
  async stat(relPath: string): Promise<LibraryFile | undefined> {
    const root = await this.realRoot();
    if (!root) return undefined;
    let real: string;
    try {
      real = await Deno.realPath(`${root}/${relPath}`);
    } catch {
      return undefined;
    }
    if (!real.startsWith(root + "/")) return undefined; // a symlink out of the library
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(real);
    } catch {
      return undefined;
    }
    if (!info.isFile) return undefined;
    return {
      library: this,
      relPath,
      realPath: real,
      size: info.size,
      mtimeMs: info.mtime?.getTime() ?? 0,
    };
  }

  /**
   * Every media file below the root (recursively, hidden entries and symlinks out of the
   * library skipped), sorted by path. Bounded by `limit`.
   */
  async list(limit = 10_000): Promise<LibraryFile[]> {
    const root = await this.realRoot();
    if (!root) return [];
    const out: LibraryFile[] = [];
    const walk = async (dir: string, rel: string, depth: number) => {
      if (depth > 16 || out.length >= limit) return;
      let entries: Deno.DirEntry[];
      try {
        entries = [];
        for await (const e of Deno.readDir(dir)) entries.push(e);
      } catch {
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        if (out.length >= limit) return;
        if (e.name.startsWith(".")) continue;
        const childRel = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory) {
          await walk(`${dir}/${e.name}`, childRel, depth + 1);
          continue;
        }
        if (!(extensionOf(e.name) in MEDIA_EXTENSIONS)) continue;
        const f = await this.stat(childRel);
        if (f) out.push(f);
      }
    };
    await walk(root, "", 0);
    return out;
  }
}

/** The lower-case extension of a name, without the dot (`""` when none). */
export function extensionOf(name: string): string {
  const slash = name.lastIndexOf("/");
  const dot = name.lastIndexOf(".");
  return dot > slash + 1 ? name.slice(dot + 1).toLowerCase() : "";
}

/**
 * Decodes and checks the part of a URL path after a library's prefix.
 *
 * @param encoded The raw (percent-encoded) path after the prefix, e.g. `movies/%E5%BD%B1.mp4`.
 * @returns The decoded relative path.
 * @throws {VodError} `VOD_BAD_PATH` naming what is wrong.
 *
 * @example
 * ```ts
 * import { checkRelPath } from "./library.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkRelPath("a%20b/%E5%BD%B1.mp4"), "a b/影.mp4");
 * assert.throws(() => checkRelPath("a/%2e%2e/b.mp4"));
 * assert.throws(() => checkRelPath("a/%252e%252e/b.mp4"));
 * ```
 */
export function checkRelPath(encoded: string): string {
  let path: string;
  try {
    path = decodeURIComponent(encoded);
  } catch {
    throw bad("it is not valid percent-encoded UTF-8");
  }
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) {
    throw bad(`it is longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (path === "") throw bad("it is empty");
  if (path.startsWith("/")) throw bad("it is absolute");
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(path)) {
    throw bad("it holds a backslash or a control character");
  }
  // A second round of decoding must not change the meaning: "%2e%2e" arriving as "%252e%252e".
  if (/%(2e|2f|5c|00)/i.test(path)) throw bad("it is encoded twice");
  for (const seg of path.split("/")) {
    if (seg === "" || seg === "." || seg === "..") {
      throw bad("it has an empty, '.' or '..' segment");
    }
    if (seg.startsWith(".")) throw bad("it names a hidden entry");
  }
  return path;
}

function bad(why: string): VodError {
  return new VodError(VodErrorCode.BadPath, `Cannot serve path: ${why}`);
}
