/**
 * A read-only memory map of a file (libc `mmap` through Deno's FFI), so a geo database of
 * 60–70 MB per address family costs resident memory only for the pages lookups touch, and
 * every DNS worker thread of the process shares the same page-cache pages instead of holding
 * its own copy (what gdnsd, PowerDNS's geoip backend and nginx's geoip2 module do through
 * libmaxminddb). Measured: BENCHMARKS.md, "Footprint".
 *
 * The caveat every mmap reader has: a file truncated or rewritten in place while mapped makes
 * the next read of a vanished page fault (SIGBUS). Replace database files by renaming a new
 * file over the old one (what `geoipupdate` and package managers do): the mapping keeps the old
 * inode until it is unmapped. `scheduler.geo.load: read` copies the file into memory instead.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

const PROT_READ = 1;
const MAP_PRIVATE = 2;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
/** `MAP_FAILED`, `(void *) -1`. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let libc: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** A file could not be mapped. */
export class FileMapError extends CodedError<"FILE_MAP"> {
  override name = "FileMapError";
  constructor(message: string, readonly path: string, options?: ErrorOptions) {
    super("FILE_MAP", `${message}: ${path}`, options);
  }
}

/** A file's bytes, mapped or read; {@link close} releases them (later reads are invalid). */
export interface FileBytes {
  readonly bytes: Uint8Array;
  /** "mmap" when mapped, "read" when copied into memory. */
  readonly how: "mmap" | "read";
  close(): void;
}

/** Whether this process can map files (Linux, FFI permitted). */
export function canMapFiles(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

function errno(c: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"]): number {
  const p = c.__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

/**
 * Maps the whole file at `path` read-only (private: nothing is ever written back).
 *
 * @throws {FileMapError} When the file cannot be opened or mapped (naming errno), or is empty.
 */
export function mapFile(path: string): FileBytes {
  libc ??= Deno.dlopen("libc.so.6", SYMBOLS);
  const c = libc.symbols;
  const size = Deno.statSync(path).size;
  if (size === 0) throw new FileMapError("Cannot map an empty file", path);
  const fd = c.open(
    new TextEncoder().encode(`${path}\0`),
    O_RDONLY | O_CLOEXEC,
  );
  if (fd < 0) {
    throw new FileMapError(
      `Cannot open file to map it (errno ${errno(c)})`,
      path,
    );
  }
  let p: Deno.PointerValue;
  try {
    p = c.mmap(null, BigInt(size), PROT_READ, MAP_PRIVATE, fd, 0n);
  } finally {
    // The mapping holds its own reference to the file.
    c.close(fd);
  }
  if (p === null || BigInt(Deno.UnsafePointer.value(p)) === MAP_FAILED) {
    throw new FileMapError(`Cannot map file (errno ${errno(c)})`, path);
  }
  const mapped = p;
  const bytes = new Uint8Array(
    Deno.UnsafePointerView.getArrayBuffer(mapped, size),
  );
  let open = true;
  return {
    bytes,
    how: "mmap",
    close() {
      if (!open) return;
      open = false;
      c.munmap(mapped, BigInt(size));
    },
  };
}

/**
 * The file's bytes: mapped when `how` is "mmap" and this process can map files, else read
 * whole into memory.
 */
export async function fileBytes(
  path: string,
  how: "mmap" | "read",
): Promise<FileBytes> {
  if (how === "mmap" && canMapFiles()) return mapFile(path);
  const bytes = await Deno.readFile(path);
  return { bytes, how: "read", close() {} };
}
