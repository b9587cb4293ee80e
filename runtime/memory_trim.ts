/**
 * Gives freed heap memory back to the operating system on a timer (glibc `malloc_trim`).
 *
 * Why: the Rust side of Deno (socket and HTTP buffers) allocates through glibc, which keeps what
 * is freed for reuse, so a process's RSS stays at its busiest moment: after 500 viewers left, the
 * origin held 173–200 MiB against 82 MiB before them, and each later run peaked higher (RSS
 * across four repeated runs 1.18–1.32× the first). Trimming every few seconds brought the idle
 * RSS between runs to 117–131 MiB and the repeated peaks to 1.04–1.10× the first, at no measured
 * CPU cost (BENCHMARKS.md). Linux with glibc and the FFI permission only; elsewhere a no-op.
 *
 * @module
 */

/** A running trimmer. */
export interface MemoryTrim {
  /** Trims once now; `true` when memory was released. */
  trimNow(): boolean;
  stop(): void;
}

/**
 * Starts trimming every `intervalMs` (0: never on a timer, `trimNow` still works).
 *
 * @returns The trimmer, or `undefined` where glibc or FFI is not available.
 * @example
 * ```ts
 * import { startMemoryTrim } from "./memory_trim.ts";
 * const trim = startMemoryTrim(0);
 * trim?.trimNow();
 * trim?.stop();
 * ```
 */
export function startMemoryTrim(intervalMs: number): MemoryTrim | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return undefined;
    }
  } catch {
    return undefined;
  }
  let lib: Deno.DynamicLibrary<{
    malloc_trim: { parameters: ["usize"]; result: "i32" };
  }>;
  try {
    lib = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
  } catch {
    return undefined; // not glibc (musl has no malloc_trim)
  }
  let open = true;
  const trimNow = () => open && lib.symbols.malloc_trim(0n) === 1;
  let timer: ReturnType<typeof setInterval> | undefined;
  if (intervalMs > 0) {
    const t = setInterval(trimNow, intervalMs);
    Deno.unrefTimer(t as unknown as number);
    timer = t;
  }
  return {
    trimNow,
    stop() {
      if (!open) return;
      open = false;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      lib.close();
    },
  };
}
