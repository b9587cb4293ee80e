/**
 * DNS query statistics for the dashboard and `/metrics`: plain counters the hot path bumps
 * without allocating, read at scrape or poll time.
 *
 * @module
 */

import { RCODE_NAMES } from "./dns/constants.ts";

/** Seconds averaged for the query rate (the last complete ones, the current one excluded). */
const RATE_WINDOW_SECONDS = 10;
/** Seconds of per-second counts kept: the dashboard's query-rate sparkline. */
export const RATE_HISTORY_SECONDS = 300;

/** The ring slot of a second (also for a manual clock near 0). */
function slot(second: number): number {
  return ((second % RATE_HISTORY_SECONDS) + RATE_HISTORY_SECONDS) %
    RATE_HISTORY_SECONDS;
}

/** Counters of answered queries. */
export class DnsStats {
  total = 0;
  ecsQueries = 0;
  readonly byRcode = new Map<number, number>();
  readonly byTransport = { udp: 0, tcp: 0 };
  /** Queries per echoed ECS scope (index = prefix length). */
  readonly scopeHistogram = new Array<number>(129).fill(0);
  rrlDropped = 0;
  rrlSlipped = 0;
  readonly #perSecond = new Array<number>(RATE_HISTORY_SECONDS).fill(0);
  #second = 0;

  constructor(readonly now: () => number = Date.now) {}

  /** Counts one response. */
  record(
    rcode: number,
    transport: "udp" | "tcp",
    ecsScope: number | undefined,
  ): void {
    this.total++;
    this.byRcode.set(rcode, (this.byRcode.get(rcode) ?? 0) + 1);
    this.byTransport[transport]++;
    if (ecsScope !== undefined) {
      this.ecsQueries++;
      this.scopeHistogram[ecsScope]!++;
    }
    const s = Math.floor(this.now() / 1000);
    if (s !== this.#second) this.#advance(s);
    this.#perSecond[slot(s)]!++;
  }

  #advance(s: number): void {
    const gap = Math.min(RATE_HISTORY_SECONDS, s - this.#second);
    for (let i = 1; i <= gap; i++) {
      this.#perSecond[slot(this.#second + i)] = 0;
    }
    this.#second = s;
  }

  /** Mean queries per second over the last complete seconds of the window. */
  queryRate(): number {
    const s = Math.floor(this.now() / 1000);
    if (s !== this.#second) this.#advance(s);
    let sum = 0;
    for (let i = 1; i < RATE_WINDOW_SECONDS; i++) {
      sum += this.#perSecond[slot(s - i)]!;
    }
    return sum / (RATE_WINDOW_SECONDS - 1);
  }

  /**
   * Queries answered in each of the last `RATE_HISTORY_SECONDS - 1` complete seconds, oldest
   * first (the current second is excluded: it is still counting). Answers counted by DNS
   * worker threads are not in it (they arrive as totals).
   */
  rateHistory(): number[] {
    const s = Math.floor(this.now() / 1000);
    if (s !== this.#second) this.#advance(s);
    const out = new Array<number>(RATE_HISTORY_SECONDS - 1);
    for (let i = RATE_HISTORY_SECONDS - 1; i >= 1; i--) {
      out[RATE_HISTORY_SECONDS - 1 - i] = this.#perSecond[slot(s - i)]!;
    }
    return out;
  }

  /** A JSON-ready summary. */
  snapshot(): Record<string, unknown> {
    const rcodes: Record<string, number> = {};
    for (const [k, v] of this.byRcode) rcodes[RCODE_NAMES[k] ?? String(k)] = v;
    const scopes: Record<string, number> = {};
    this.scopeHistogram.forEach((v, i) => {
      if (v) scopes[`/${i}`] = v;
    });
    return {
      total: this.total,
      queriesPerSecond: +this.queryRate().toFixed(1),
      rcodes,
      transports: { ...this.byTransport },
      ecsShare: this.total ? +(this.ecsQueries / this.total).toFixed(4) : 0,
      scopeHistogram: scopes,
      rrl: { dropped: this.rrlDropped, slipped: this.rrlSlipped },
    };
  }
}
