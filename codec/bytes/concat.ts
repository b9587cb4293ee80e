/**
 * Joining byte buffers, for the codecs and the servers that write what they encode: one copy
 * into a buffer of the total size, and none at all for a single part.
 *
 * @module
 */

/**
 * `parts` as one buffer. A single part is returned as it is (shared, not copied).
 *
 * @param total The parts' summed length when the caller already knows it.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./concat.ts";
 * const b = concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * if (b.join() !== "1,2,3") throw new Error("bad join");
 * ```
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  total?: number,
): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  if (total === undefined) {
    total = 0;
    for (const p of parts) total += p.byteLength;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
