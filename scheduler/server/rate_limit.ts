/**
 * Response rate limiting like BIND's RRL: a token bucket per client network (/24, /56) and
 * kind of response, so that a spoofed flood of one answer is limited while a busy resolver
 * asking for many names is not. Over the limit, responses are dropped, except every `slip`-th
 * which goes out truncated (TC, no records) so a real client can retry over TCP while a
 * spoofed victim gets nothing larger than its query. Pure; time is injected.
 *
 * The bucket of a response is chosen as BIND chooses it (its `responses-per-second`,
 * `nodata-per-second`, `nxdomains-per-second`, `referrals-per-second` and `errors-per-second`
 * classes, here with one rate): an answer counts against its name and type, with every name a
 * wildcard covers counting as the wildcard (random names under `*.cdn` are one flood, not a
 * million); NODATA against the name holding no data; NXDOMAIN against the zone (random
 * non-existent names are one flood); a referral against the delegation; errors (REFUSED,
 * FORMERR, NOTIMP, BADVERS) against the network alone. The key is a hash of (network,
 * class, type, name), as BIND keys its buckets by a hash of the name: a collision only makes
 * two classes share a bucket.
 *
 * @module
 */

import { type Cidr, cidrContains, parseCidr } from "../../geo/mod.ts";
import type { SchedulerConfig } from "../../config/scheduler_schema.ts";

/** What to do with one response. */
export type RateDecision = "send" | "drop" | "slip";

/** BIND's response classes, each a bucket of its own per network and name. */
export const ResponseKind = {
  Answer: 0,
  Nodata: 1,
  Nxdomain: 2,
  Referral: 3,
  Error: 4,
} as const;
export type ResponseKind = typeof ResponseKind[keyof typeof ResponseKind];

/**
 * Which bucket a response counts against, filled in by the handler for each response (one
 * object per listener, reused: nothing is allocated per query).
 */
export interface ResponseClass {
  kind: ResponseKind;
  /** The name the class is keyed by (see the module comment); "" for errors. */
  name: string;
  /** The query type for answers and NODATA; 0 otherwise. */
  qtype: number;
}

/** A class for the handler to fill in (starts as an error: the network-wide bucket). */
export function createResponseClass(): ResponseClass {
  return { kind: ResponseKind.Error, name: "", qtype: 0 };
}

interface Bucket {
  tokens: number;
  lastMs: number;
  limited: number;
}

/** Token buckets per (network, response class). */
export class ResponseRateLimiter {
  readonly #buckets = new Map<number, Bucket>();
  readonly #exempt: readonly Cidr[];
  readonly #rate: number;
  readonly #burst: number;

  constructor(
    readonly config: SchedulerConfig["dns"]["rateLimit"],
    readonly now: () => number = Date.now,
  ) {
    this.#exempt = config.exempt.map(parseCidr);
    this.#rate = config.responsesPerSecond;
    this.#burst = config.responsesPerSecond * config.windowSeconds;
  }

  /**
   * Decides for one response to `address` (4 or 16 bytes).
   *
   * @param cls The response's class; without one, the network's error bucket (every
   *   response of the network in one bucket).
   */
  check(address: Uint8Array, cls?: ResponseClass): RateDecision {
    if (this.#rate === 0) return "send";
    for (const c of this.#exempt) if (cidrContains(c, address)) return "send";
    const key = bucketKey(
      address,
      address.length === 4
        ? this.config.ipv4PrefixLength
        : this.config.ipv6PrefixLength,
      cls,
    );
    const now = this.now();
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.config.maxEntries) {
        // Oldest first: Map keeps insertion order.
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: this.#burst, lastMs: now, limited: 0 };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(
      this.#burst,
      b.tokens + ((now - b.lastMs) / 1000) * this.#rate,
    );
    b.lastMs = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.limited = 0;
      return "send";
    }
    b.limited++;
    return this.config.slip > 0 && b.limited % this.config.slip === 0
      ? "slip"
      : "drop";
  }

  /** Buckets tracked. */
  get size(): number {
    return this.#buckets.size;
  }
}

/** The hash lanes of {@link bucketKey} (module state: no closure per response). */
let laneA = 0;
let laneB = 0;

function mix(v: number): void {
  laneA = Math.imul(laneA ^ v, 0x01000193);
  laneB = Math.imul(laneB ^ v, 0x5bd1e995);
  laneB ^= laneB >>> 15;
}

/**
 * A 52-bit hash of (network, class, type, name): two 32-bit lanes with different multipliers,
 * one kept whole and one cut to 20 bits. No string or array is built per response.
 */
function bucketKey(
  address: Uint8Array,
  prefix: number,
  cls: ResponseClass | undefined,
): number {
  laneA = 0x811c9dc5;
  laneB = 0x01000193 ^ address.length;
  for (let i = 0; i < address.length; i++) {
    const bits = prefix - i * 8;
    mix(
      bits >= 8
        ? address[i]!
        : bits <= 0
        ? 0
        : address[i]! & (0xff << (8 - bits)) & 0xff,
    );
  }
  mix(prefix);
  const kind = cls?.kind ?? ResponseKind.Error;
  mix(kind);
  if (cls && kind !== ResponseKind.Error) {
    mix(cls.qtype & 0xff);
    mix(cls.qtype >>> 8);
    const name = cls.name;
    for (let i = 0; i < name.length; i++) mix(name.charCodeAt(i));
  }
  return (laneA >>> 0) * 0x100000 + ((laneB >>> 0) & 0xfffff);
}

/**
 * Turns a response into its truncated form: header and question, TC set, no records (the OPT
 * record is dropped too; the client retries over TCP anyway).
 */
export function slipResponse(response: Uint8Array): Uint8Array {
  // Header (12) + question: walk the name, then 4 bytes of type and class.
  let p = 12;
  if (((response[4]! << 8) | response[5]!) === 1) {
    while (p < response.length && response[p] !== 0) p += response[p]! + 1;
    p += 5;
  }
  const out = response.slice(0, Math.min(p, response.length));
  out[2] = out[2]! | 0x02;
  out[6] =
    out[7] =
    out[8] =
    out[9] =
    out[10] =
    out[11] =
      0;
  return out;
}

/**
 * Applies RRL to an answer for `address`: the answer, its truncated (slipped) form, or
 * `undefined` when it is dropped, counting slips and drops. Shared by both UDP listeners.
 */
export function rateLimited(
  answer: Uint8Array,
  address: Uint8Array,
  deps: {
    readonly rateLimiter?: ResponseRateLimiter;
    readonly stats?: { rrlDropped: number; rrlSlipped: number };
  },
  cls?: ResponseClass,
): Uint8Array | undefined {
  const verdict = deps.rateLimiter?.check(address, cls) ?? "send";
  if (verdict === "send") return answer;
  if (verdict === "drop") {
    if (deps.stats) deps.stats.rrlDropped++;
    return undefined;
  }
  if (deps.stats) deps.stats.rrlSlipped++;
  return slipResponse(answer);
}
