/**
 * DNS query statistics for the dashboard and `/metrics`: plain counters the hot path bumps
 * without allocating, read at scrape or poll time.
 *
 * Queries are counted in one flat array by transport × question type × response code (no
 * string, no map per query); answer latency in a fixed bucket array, for one query in
 * {@link DNS_LATENCY_SAMPLE_EVERY} (two clock reads cost a tenth of an answer); answers per edge
 * in a counter the cached decision holds. DNS worker threads send the same counters as
 * deltas (`workers.ts`).
 *
 * @module
 */

import { RCODE_NAMES } from "./dns/constants.ts";

/**
 * Question types counted by name (`meridian_dns_queries_total{qtype}`); any other counts as
 * `other`, so a client cannot make labels up.
 */
export const COUNTED_QTYPES: readonly (readonly [number, string])[] = [
  [1, "A"],
  [2, "NS"],
  [5, "CNAME"],
  [6, "SOA"],
  [12, "PTR"],
  [13, "HINFO"],
  [15, "MX"],
  [16, "TXT"],
  [28, "AAAA"],
  [33, "SRV"],
  [35, "NAPTR"],
  [43, "DS"],
  [48, "DNSKEY"],
  [64, "SVCB"],
  [65, "HTTPS"],
  [251, "IXFR"],
  [252, "AXFR"],
  [255, "ANY"],
  [257, "CAA"],
];
/** Slot 0 is `other`; the counted types follow in {@link COUNTED_QTYPES} order. */
const QTYPE_SLOT = new Uint8Array(258);
COUNTED_QTYPES.forEach(([t], i) => QTYPE_SLOT[t] = i + 1);
const QTYPE_SLOTS = COUNTED_QTYPES.length + 1;
/** RCODEs 0..16 by value (16: BADVERS); slot 17 is any other. */
const RCODE_SLOTS = 18;
const TRANSPORTS = ["udp", "tcp"] as const;

/** The label of a question type: its name when counted, else `other`. */
export function qtypeLabel(qtype: number): string {
  const slot = qtype >= 0 && qtype < 258 ? QTYPE_SLOT[qtype]! : 0;
  return slot === 0 ? "other" : COUNTED_QTYPES[slot - 1]![1];
}

/** The label of a response code: its name (`NOERROR`, `NXDOMAIN`…) or its number. */
export function rcodeLabel(rcode: number): string {
  return RCODE_NAMES[rcode] ?? String(rcode);
}

/**
 * Answer-time buckets (seconds): 5 µs (a cached answer) to 25 ms (a geo lookup on a cold
 * runtime, a stalled loop).
 */
export const DNS_LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.000005,
  0.00001,
  0.000025,
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.025,
];

/** One query in this many has its answer timed (the rest cost no clock read). */
export const DNS_LATENCY_SAMPLE_EVERY = 16;

/** ECS scope buckets (prefix lengths, RFC 7871 §7.2.1): what `le` means for the scope histogram. */
export const ECS_SCOPE_BUCKETS: readonly number[] = [
  0,
  8,
  16,
  20,
  24,
  32,
  40,
  48,
  56,
  64,
  128,
];

/** Answers served from one edge (held by the decisions that name it). */
export interface EdgeAnswerCounter {
  count: number;
}

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
  /** Queries by transport × qtype slot × rcode slot (see {@link queryRows}). */
  readonly queries = new Float64Array(2 * QTYPE_SLOTS * RCODE_SLOTS);
  /** Timed answers per {@link DNS_LATENCY_BUCKETS_SECONDS} bucket (last: +Inf). */
  readonly latencyCounts = new Float64Array(
    DNS_LATENCY_BUCKETS_SECONDS.length + 1,
  );
  latencySum = 0;
  /** Steered answers by the edge answered first. */
  readonly byEdge = new Map<string, EdgeAnswerCounter>();
  readonly #perSecond = new Array<number>(RATE_HISTORY_SECONDS).fill(0);
  #second = 0;

  constructor(readonly now: () => number = Date.now) {}

  /**
   * Counts one response.
   *
   * @param qtype The question's type; 0 when the query could not be read.
   */
  record(
    rcode: number,
    transport: "udp" | "tcp",
    ecsScope: number | undefined,
    qtype = 0,
  ): void {
    this.total++;
    const q = qtype > 0 && qtype < 258 ? QTYPE_SLOT[qtype]! : 0;
    const r = rcode >= 0 && rcode < RCODE_SLOTS - 1 ? rcode : RCODE_SLOTS - 1;
    this.queries[
      ((transport === "udp" ? 0 : 1) * QTYPE_SLOTS + q) * RCODE_SLOTS + r
    ]!++;
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

  /** One timed answer. */
  observeLatency(seconds: number): void {
    const b = DNS_LATENCY_BUCKETS_SECONDS;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    this.latencyCounts[i]!++;
    this.latencySum += seconds;
  }

  /** The counter of answers naming `edgeId` first (created once; decisions keep it). */
  edgeCounter(edgeId: string): EdgeAnswerCounter {
    let c = this.byEdge.get(edgeId);
    if (!c) this.byEdge.set(edgeId, c = { count: 0 });
    return c;
  }

  /** Non-zero query counts as label values: `[transport, qtype, rcode, count]`. */
  *queryRows(): Iterable<[string, string, string, number]> {
    for (let i = 0; i < this.queries.length; i++) {
      const n = this.queries[i]!;
      if (n === 0) continue;
      const r = i % RCODE_SLOTS;
      const q = Math.floor(i / RCODE_SLOTS) % QTYPE_SLOTS;
      const t = Math.floor(i / (RCODE_SLOTS * QTYPE_SLOTS));
      yield [
        TRANSPORTS[t]!,
        q === 0 ? "other" : COUNTED_QTYPES[q - 1]![1],
        r === RCODE_SLOTS - 1 ? "other" : rcodeLabel(r),
        n,
      ];
    }
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
