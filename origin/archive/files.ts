/**
 * Durable writes for the archive: every byte written (a short write is continued), files
 * fsync'ed before they are named in an index, small state files replaced atomically.
 *
 * Why fsync and not only the page cache: a `kill -9` loses nothing the kernel has, but a power
 * loss loses what is not on the disk; the DVR index names a segment only after the segment is
 * on the disk, and a recording's fragment is synced before the next begins, so either crash
 * leaves what the index or the file says is there.
 *
 * @module
 */

/** Writes all of `bytes` at the file's position (a write may take fewer bytes than given). */
export async function writeAll(
  file: Deno.FsFile,
  bytes: Uint8Array,
): Promise<void> {
  let o = 0;
  while (o < bytes.byteLength) o += await file.write(bytes.subarray(o));
}

/** Creates (or replaces) `path` with `bytes`, fsync'ed before it resolves. */
export async function writeFileDurably(
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  const f = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  try {
    await writeAll(f, bytes);
    await f.syncData();
  } finally {
    f.close();
  }
}

/** fsyncs every file in `paths`, `parallel` at a time (written earlier, synced as a batch). */
export async function syncFiles(
  paths: readonly string[],
  parallel = 8,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const f = await Deno.open(paths[next++]!, { read: true, write: true });
      try {
        await f.syncData();
      } finally {
        f.close();
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(parallel, paths.length) }, worker),
  );
}

/** fsync of a folder, so the names created in it survive a power loss (best effort). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Not every platform opens folders; the data itself is synced either way.
  }
}

/**
 * Replaces `path` with `value` as JSON atomically: a temporary file, fsync'ed, renamed over it
 * (POSIX rename is atomic), so a crash leaves the old state or the new one, never a torn one.
 */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFileDurably(tmp, new TextEncoder().encode(JSON.stringify(value)));
  await Deno.rename(tmp, path);
}

/** Removes `path`; a missing file is not an error. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** The entries of a folder, none when it does not exist. */
export async function listDir(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}
