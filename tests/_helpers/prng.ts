/**
 * A seeded PRNG (mulberry32) and input mutators for the fuzz-style tests of our decoders: one
 * generator for every fuzz loop, so each failure replays from its seed.
 *
 * @module
 */

/** Returns a generator of uint32s; the same seed gives the same sequence. */
export function createPrng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Random bytes of the given length. */
export function randomBytes(next: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

/**
 * One mutation of `seed`: a truncation, bit flips, a byte run set to 0xff (huge length
 * fields), or random bytes spliced in.
 */
export function mutate(next: () => number, seed: Uint8Array): Uint8Array {
  const out = seed.slice();
  switch (next() % 4) {
    case 0:
      return out.subarray(0, next() % (out.byteLength + 1));
    case 1: {
      const flips = 1 + (next() % 4);
      for (let i = 0; i < flips && out.byteLength > 0; i++) {
        out[next() % out.byteLength]! ^= 1 << (next() % 8);
      }
      return out;
    }
    case 2: {
      if (out.byteLength === 0) return out;
      const at = next() % out.byteLength;
      out.fill(0xff, at, Math.min(out.byteLength, at + 1 + (next() % 4)));
      return out;
    }
    default: {
      const at = next() % (out.byteLength + 1);
      const junk = randomBytes(next, 1 + (next() % 8));
      const joined = new Uint8Array(out.byteLength + junk.byteLength);
      joined.set(out.subarray(0, at));
      joined.set(junk, at);
      joined.set(out.subarray(at), at + junk.byteLength);
      return joined;
    }
  }
}

/** The same generator scaled to [0, 1), for tests that draw with {@link randInt}. */
export function mulberry32(seed: number): () => number {
  const next = createPrng(seed);
  return () => next() / 4294967296;
}

/** A random integer in [0, n) from a [0, 1) generator. */
export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** `n` random bytes from a [0, 1) generator. */
export function randBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = randInt(rand, 256);
  return out;
}
