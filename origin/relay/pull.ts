/**
 * One stream pulled from upstream origins: an ordinary hub of this node's registry (every
 * output: RTMP play, HTTP-FLV, HLS, and further relays below this one), fed by one upstream
 * connection at a time, in the configured fail-over order.
 *
 * Life: **starting** (upstreams tried in order within `startTimeoutMs`; viewers wait on
 * {@link RelayPull.ready}), **live**, **reconnecting** after the upstream is lost (the others
 * first, then it again, for `reconnectWindowMs`; viewers stay connected; the hub's source
 * break tells HLS to mark EXT-X-DISCONTINUITY, timestamps are rebased to keep increasing, the
 * new upstream's sequence headers reach every viewer before its media), **ended** (the hub
 * ends: its viewers get the end of the stream). A pull with no viewer and no request for
 * `idleCloseMs` ends.
 *
 * @module
 */

import type { FlvTag } from "../../codec/flv/mod.ts";
import { TimestampRebaser } from "../../live/mod.ts";
import type { Logger } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import {
  type DemandFailure,
  type DemandOutcome,
  StreamBusyError,
  type StreamRegistry,
} from "../stream/registry.ts";
import { type RelayError, RelayErrorCode } from "./errors.ts";
import type {
  OpenPull,
  PullConnection,
  PullRequest,
  Upstream,
} from "./upstream.ts";
import type { RelayChain } from "./wire.ts";

/** Pause after every upstream was tried once, before the next round (ms). */
export const RECONNECT_BACKOFF_MS = 250;
/** No attempt gets less than this of the start time (ms), however many upstreams wait. */
export const MIN_ATTEMPT_MS = 500;
/** Tags kept while the hub is being created (the rest of the first read). */
const MAX_EARLY_TAGS = 4096;

/** The `origin.relay` timing of a pull (ms) and the secret it sends. */
export interface RelayPullOptions {
  readonly idleCloseMs: number;
  readonly startTimeoutMs: number;
  readonly reconnectWindowMs: number;
  readonly readTimeoutMs: number;
  readonly secret: string;
}

/** What a pull uses. */
export interface RelayPullDeps {
  readonly registry: StreamRegistry;
  readonly open: OpenPull;
  readonly log: Logger;
  /** Told when the pull moved to another upstream (metrics). */
  readonly onSwitch?: () => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Where a pull is. */
export type RelayPullState = "starting" | "live" | "reconnecting" | "ended";

/** A pull as status and `/metrics` show it. */
export interface RelayPullSummary {
  readonly stream: string;
  readonly state: RelayPullState;
  /** The upstream feeding it now ("" while none does). */
  readonly upstream: string;
  readonly hops: number;
  readonly viewers: number;
  readonly bytesIn: number;
  /** Times it moved to another upstream (or reconnected to the same one). */
  readonly switches: number;
  readonly startedAt: string;
  /** The last upstream failure ("" when none). */
  readonly lastError: string;
}

/** The status a requester gets from the errors of every upstream tried (most telling first). */
export function failureOf(
  errors: readonly RelayError[],
  what: string,
): DemandFailure {
  const pick = (...codes: string[]) =>
    errors.find((e) => codes.includes(e.code));
  const loop = pick(RelayErrorCode.Loop, RelayErrorCode.TooDeep);
  if (loop) return { ok: false, status: 508, message: loop.message };
  const refused = pick(RelayErrorCode.Secret, RelayErrorCode.Refused);
  if (refused) return { ok: false, status: 502, message: refused.message };
  const timeout = pick(RelayErrorCode.Timeout);
  if (timeout) return { ok: false, status: 504, message: timeout.message };
  const broken = errors.find((e) => e.code !== RelayErrorCode.NotFound);
  if (broken) return { ok: false, status: 502, message: broken.message };
  return { ok: false, status: 404, message: `Stream not found: ${what}` };
}

/** One pulled stream (see the module notes). */
export class RelayPull {
  readonly app: string;
  readonly name: string;
  readonly chain: RelayChain;
  readonly ready: Promise<DemandOutcome>;
  readonly done: Promise<void>;

  readonly #upstreams: readonly Upstream[];
  readonly #o: RelayPullOptions;
  readonly #deps: RelayPullDeps;
  readonly #now: () => number;
  readonly #rebaser = new TimestampRebaser();
  readonly #startedAtMs: number;
  #resolveReady!: (o: DemandOutcome) => void;
  #state: RelayPullState = "starting";
  #hub: Hub | undefined;
  #early: FlvTag[] = [];
  #conn: PullConnection | undefined;
  #generation = 0;
  #upstream: Upstream | undefined;
  #switches = 0;
  #bytesBefore = 0;
  #lastError = "";
  #lastTouchMs: number;
  #closed = false;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    app: string,
    name: string,
    chain: RelayChain,
    upstreams: readonly Upstream[],
    options: RelayPullOptions,
    deps: RelayPullDeps,
  ) {
    this.app = app;
    this.name = name;
    this.chain = chain;
    this.#upstreams = upstreams;
    this.#o = options;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#startedAtMs = this.#now();
    this.#lastTouchMs = this.#startedAtMs;
    this.ready = new Promise((r) => this.#resolveReady = r);
    this.done = this.#run().catch((e) => {
      deps.log.error("relay pull failed", {
        stream: this.#stream,
        error: e instanceof Error ? e.message : String(e),
      });
    }).finally(() => this.#finish());
  }

  get #stream(): string {
    return `${this.app}/${this.name}`;
  }

  get state(): RelayPullState {
    return this.#state;
  }

  /** A request for the stream's output arrived: the idle clock starts again. */
  touch(): void {
    this.#lastTouchMs = this.#now();
  }

  /** Stops the pull; its hub ends (viewers get the end of the stream). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn?.close();
    this.#wake?.();
  }

  summary(): RelayPullSummary {
    return {
      stream: this.#stream,
      state: this.#state,
      upstream: this.#conn && this.#state === "live"
        ? this.#upstream?.url ?? ""
        : "",
      hops: this.chain.hops,
      viewers: this.#hub?.viewerCount ?? 0,
      bytesIn: this.#bytesBefore + (this.#conn?.bytesIn ?? 0),
      switches: this.#switches,
      startedAt: new Date(this.#startedAtMs).toISOString(),
      lastError: this.#lastError,
    };
  }

  #finish(): void {
    this.#closed = true;
    this.#state = "ended";
    clearTimeout(this.#idleTimer);
    this.#conn?.close();
    this.#resolveReady({
      ok: false,
      status: 404,
      message: `Stream not found: ${this.#stream}`,
    });
    this.#hub?.end();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #onTag(generation: number, tag: FlvTag): void {
    if (generation !== this.#generation || this.#closed) return;
    const out = this.#rebaser.retime(tag);
    if (this.#hub) this.#hub.pushTag(out);
    else if (this.#early.length < MAX_EARLY_TAGS) this.#early.push(out);
  }

  /**
   * Tries `order` once, first to last, within `budgetMs` in all: the first upstream whose
   * play starts, or the errors of all.
   */
  async #connectAny(
    order: readonly Upstream[],
    budgetMs: number,
  ): Promise<{ conn: PullConnection; upstream: Upstream } | RelayError[]> {
    const errors: RelayError[] = [];
    const deadline = this.#now() + budgetMs;
    for (let i = 0; i < order.length && !this.#closed; i++) {
      const upstream = order[i]!;
      const left = deadline - this.#now();
      if (left <= 0) break;
      const request: PullRequest = {
        app: this.app,
        name: this.name,
        chain: this.chain,
        secret: this.#o.secret,
      };
      const generation = ++this.#generation;
      const conn = this.#deps.open(upstream, request, {
        // A silent first upstream may not take the others' time.
        startTimeoutMs: Math.max(
          MIN_ATTEMPT_MS,
          Math.floor(left / (order.length - i)),
        ),
        readTimeoutMs: this.#o.readTimeoutMs,
      }, {
        onTag: (tag) => this.#onTag(generation, tag),
        // Already coalesced upstream: out to this node's viewers at once (BENCHMARKS.md,
        // "Relay cascade": a second interval per hop otherwise).
        onBatchEnd: () => {
          if (generation === this.#generation) this.#hub?.flush();
        },
      });
      this.#conn = conn;
      try {
        await conn.started;
        if (this.#closed) {
          conn.close();
          break;
        }
        return { conn, upstream };
      } catch (e) {
        const error = e as RelayError;
        errors.push(error);
        this.#lastError = error.message;
        this.#deps.log.info("relay upstream did not start", {
          stream: this.#stream,
          upstream: upstream.url,
          code: error.code,
          error: error.message,
        });
      }
    }
    return errors;
  }

  async #run(): Promise<void> {
    const first = await this.#connectAny(
      this.#upstreams,
      this.#o.startTimeoutMs,
    );
    if (Array.isArray(first)) {
      this.#resolveReady(
        this.#closed
          ? { ok: false, status: 503, message: "Relay pull stopped" }
          : failureOf(first, this.#stream),
      );
      return;
    }
    try {
      this.#hub = this.#deps.registry.startPublish(this.app, this.name, {
        peer: first.upstream.url,
        protocol: "relay",
      });
    } catch (e) {
      first.conn.close();
      if (!(e instanceof StreamBusyError)) throw e;
      // Published here meanwhile (a local publisher): that hub serves.
      this.#resolveReady({ ok: true });
      return;
    }
    const hub = this.#hub;
    hub.addListener({ onTag() {}, onEnd: () => this.close() });
    for (const t of this.#early) hub.pushTag(t);
    this.#early = [];
    this.#upstream = first.upstream;
    this.#state = "live";
    this.#resolveReady({ ok: true });
    this.#deps.log.info("relay pull started", {
      stream: this.#stream,
      upstream: first.upstream.url,
      hops: this.chain.hops,
    });
    this.#armIdle();
    let conn = first.conn;
    for (;;) {
      const why = await conn.ended;
      this.#bytesBefore += conn.bytesIn;
      if (this.#closed) return;
      const lost = this.#upstream!;
      this.#lastError = why?.message ?? "the upstream ended the stream";
      this.#deps.log.warn("relay upstream lost", {
        stream: this.#stream,
        upstream: lost.url,
        error: this.#lastError,
      });
      this.#state = "reconnecting";
      // What comes next does not continue what came before: viewers stay, HLS marks the join.
      hub.breakSource();
      this.#rebaser.cut();
      const lostAtMs = this.#now();
      // The others first (in their order), then the lost one again (it may have restarted).
      const order = [...this.#upstreams.filter((u) => u !== lost), lost];
      let next: { conn: PullConnection; upstream: Upstream } | undefined;
      while (!this.#closed && next === undefined) {
        const left = this.#o.reconnectWindowMs - (this.#now() - lostAtMs);
        if (left <= 0) break;
        const r = await this.#connectAny(
          order,
          Math.min(left, this.#o.startTimeoutMs),
        );
        if (!Array.isArray(r)) next = r;
        else await this.#sleep(Math.min(RECONNECT_BACKOFF_MS, left));
      }
      if (next === undefined) {
        if (!this.#closed) {
          this.#deps.log.warn("relay stream lost on every upstream", {
            stream: this.#stream,
            seconds: this.#o.reconnectWindowMs / 1000,
          });
        }
        return;
      }
      conn = next.conn;
      this.#upstream = next.upstream;
      this.#switches++;
      this.#deps.onSwitch?.();
      this.#state = "live";
      this.#deps.log.info("relay pull switched upstream", {
        stream: this.#stream,
        from: lost.url,
        upstream: next.upstream.url,
        gapSeconds: (this.#now() - lostAtMs) / 1000,
      });
    }
  }

  /** Ends the pull once it has had no viewer and no request for `idleCloseMs`. */
  #armIdle(): void {
    const every = Math.max(50, Math.min(1000, this.#o.idleCloseMs / 4));
    this.#idleTimer = setTimeout(() => {
      if (this.#closed) return;
      const now = this.#now();
      if ((this.#hub?.viewerCount ?? 0) > 0) this.#lastTouchMs = now;
      if (now - this.#lastTouchMs >= this.#o.idleCloseMs) {
        this.#deps.log.info("relay pull idle: stopping", {
          stream: this.#stream,
          idleSeconds: (now - this.#lastTouchMs) / 1000,
        });
        this.close();
        return;
      }
      this.#armIdle();
    }, every);
  }
}
