/**
 * Response rate limiting per client network, like BIND's RRL: a token bucket per /24 (/56);
 * over the limit, responses are dropped, except every `slip`-th which goes out truncated (TC,
 * no records) so a real client can retry over TCP while a spoofed victim gets nothing larger
 * than its query. Pure; time is injected.
 *
 * @module
 */

import {
  type Cidr,
  cidrContains,
  maskBytes,
  parseCidr,
} from "../../geo/mod.ts";
import type { SchedulerConfig } from "../../config/scheduler_schema.ts";

/** What to do with one response. */
export type RateDecision = "send" | "drop" | "slip";

interface Bucket {
  tokens: number;
  lastMs: number;
  limited: number;
}

/** Per-network token buckets. */
export class ResponseRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
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

  /** Decides for one response to `address` (4 or 16 bytes). */
  check(address: Uint8Array): RateDecision {
    if (this.#rate === 0) return "send";
    for (const c of this.#exempt) if (cidrContains(c, address)) return "send";
    const four = address.length === 4;
    const net = maskBytes(
      address,
      four ? this.config.ipv4PrefixLength : this.config.ipv6PrefixLength,
    );
    const key = String.fromCharCode(...net);
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

  /** Networks tracked. */
  get size(): number {
    return this.#buckets.size;
  }
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
): Uint8Array | undefined {
  const verdict = deps.rateLimiter?.check(address) ?? "send";
  if (verdict === "send") return answer;
  if (verdict === "drop") {
    if (deps.stats) deps.stats.rrlDropped++;
    return undefined;
  }
  if (deps.stats) deps.stats.rrlSlipped++;
  return slipResponse(answer);
}
