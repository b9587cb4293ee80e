/**
 * The origin's LL-HLS packagers: one {@link LlHlsStream} per `app/stream` of the apps where
 * LL-HLS is on, attached to every publish, and the held requests of blocking playlist reload
 * (RFC 8216bis §6.2.5.2) and of parts asked for before they exist (the preload hint).
 *
 * A held request is answered the moment the part it waits for is made (the wake runs inside
 * the hub's fan-out of the tag that completed the part), after at most the hold time with
 * `timeout`, at once with `busy` beyond `maxHeldRequests`. A stream whose publisher left stays
 * listed for the HLS end grace (a republish continues its numbering behind a discontinuity),
 * then with EXT-X-ENDLIST for the ended retention, then 404.
 *
 * @module
 */

import type {
  Counter,
  CounterChild,
  MetricsRegistry,
} from "../../metrics/mod.ts";
import type { Logger } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import { LlHlsStream } from "./stream.ts";

/** A held request waits at most this many target durations for its part... */
export const HOLD_TARGET_RATIO = 3;
/**
 * ...and never longer than this (ms): below hls.js's and the edge's 10 s timeouts, so the
 * client gets our 503 (and retries) rather than a timeout of its own.
 */
export const MAX_HOLD_MS = 8_000;

/** Options of {@link LlHlsPackagers} (the `origin.llhls` section with `origin.hls` times). */
export interface LlHlsPackagersOptions {
  /** Apps whose streams are packaged as LL-HLS. */
  readonly apps: readonly string[];
  readonly targetDurationMs: number;
  readonly keyframeTolerance: number;
  readonly partTargetMs: number;
  readonly windowSegments: number;
  /** Held requests at once (all streams); more are answered `busy`. */
  readonly maxHeldRequests: number;
  /** After the publisher leaves, the playlist stays live this long. */
  readonly endGraceMs: number;
  /** Then it carries EXT-X-ENDLIST this long, then it is gone. */
  readonly endedRetentionMs: number;
}

/** What {@link LlHlsPackagers} needs from the origin. */
export interface LlHlsPackagersDeps {
  readonly registry: StreamRegistry;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /** Wall clock. @default Date.now */
  readonly now?: () => number;
}

/** How a held request ended. */
export type LlWait =
  | { readonly kind: "ready" }
  /** Not made within the hold time. */
  | { readonly kind: "timeout" }
  /** Too many requests held already. */
  | { readonly kind: "busy" }
  /** The stream ended or was replaced; what was awaited will not come. */
  | { readonly kind: "gone" }
  /** The client went away. */
  | { readonly kind: "aborted" };

interface Waiter {
  readonly msn: number;
  readonly part: number | undefined;
  settle(result: LlWait): void;
}

interface Entry {
  readonly key: string;
  stream: LlHlsStream;
  phase: "live" | "grace" | "ended";
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly waiters: Set<Waiter>;
}

/**
 * Packages the streams of the LL-HLS apps and holds blocking requests.
 *
 * @example
 * ```ts
 * import { LlHlsPackagers } from "./packagers.ts";
 * import { StreamRegistry } from "../stream/registry.ts";
 * import { MetricsRegistry } from "../../metrics/mod.ts";
 * import { silentLogger } from "../log.ts";
 * import assert from "node:assert/strict";
 * const enc = { tag: (t: { data: Uint8Array }) => t.data };
 * const registry = new StreamRegistry({ gopCache: true, maxGopCacheBytes: 1 << 20, flushIntervalMs: 0, encoders: { flv: enc, rtmp: enc }, log: silentLogger });
 * const ll = new LlHlsPackagers({ apps: ["live"], targetDurationMs: 2000, keyframeTolerance: 0.1,
 *   partTargetMs: 333, windowSegments: 6, maxHeldRequests: 10, endGraceMs: 100, endedRetentionMs: 100,
 * }, { registry, metrics: new MetricsRegistry(), log: silentLogger });
 * registry.startPublish("live", "cam", { peer: "test", protocol: "rtmp" });
 * assert.ok(ll.stream("live", "cam"));
 * assert.equal(ll.enabled("other"), false);
 * registry.endAll();
 * ll.close();
 * ```
 */
export class LlHlsPackagers {
  readonly #o: LlHlsPackagersOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #apps: ReadonlySet<string>;
  readonly #holdMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #unsubscribe: () => void;
  readonly #holds: Counter;
  readonly #requests: Counter;
  readonly #parts: CounterChild;
  readonly #partBytes: CounterChild;
  #held = 0;
  #epochs = 0;
  #closed = false;

  constructor(options: LlHlsPackagersOptions, deps: LlHlsPackagersDeps) {
    this.#o = options;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#apps = new Set(options.apps);
    this.#holdMs = Math.min(
      HOLD_TARGET_RATIO * options.targetDurationMs,
      MAX_HOLD_MS,
    );
    const m = deps.metrics;
    this.#holds = m.counter(
      "meridian_origin_llhls_holds_total",
      "LL-HLS requests held for a part not made yet (blocking playlist reload, preload hints), by outcome (ready, timeout, busy: over the cap, gone, aborted)",
    );
    this.#requests = m.counter(
      "meridian_origin_llhls_requests_total",
      "LL-HLS requests answered, by kind (playlist, part: parts, segments and init segments) and status",
    );
    this.#parts = m.counter(
      "meridian_origin_llhls_parts_total",
      "LL-HLS parts made (all streams)",
    ).labels();
    this.#partBytes = m.counter(
      "meridian_origin_llhls_part_bytes_total",
      "Bytes of the LL-HLS parts made (all streams)",
    ).labels();
    m.collect(
      "meridian_origin_llhls_held_requests",
      "LL-HLS requests waiting now for a part not made yet",
      "gauge",
      () => [[undefined, this.#held]],
    );
    m.collect(
      "meridian_origin_llhls_streams",
      "Streams packaged as LL-HLS now",
      "gauge",
      () => [[undefined, this.#entries.size]],
    );
    this.#unsubscribe = deps.registry.onPublish((hub) => this.#onPublish(hub));
  }

  /** Counts one answered request (the routes call it). */
  countRequest(kind: "playlist" | "part", status: number): void {
    this.#requests.inc({ kind, status: String(status) });
  }

  /** True when LL-HLS is on for `app`. */
  enabled(app: string): boolean {
    return this.#apps.has(app);
  }

  /** The stream's packager now, if it is packaged (live, in its grace, or ended and kept). */
  stream(app: string, stream: string): LlHlsStream | undefined {
    return this.#entries.get(`${app}/${stream}`)?.stream;
  }

  /** The segment target duration (ms). */
  get targetDurationMs(): number {
    return this.#o.targetDurationMs;
  }

  /** How long a request is held at most (ms). */
  get holdMs(): number {
    return this.#holdMs;
  }

  /** Requests held now. */
  get heldRequests(): number {
    return this.#held;
  }

  /**
   * Waits until the stream lists part `part` of segment `msn` (the whole segment when `part`
   * is undefined), or later media. The caller checked {@link LlHlsStream.tooFar} first.
   */
  wait(
    app: string,
    stream: string,
    msn: number,
    part: number | undefined,
    signal?: AbortSignal,
  ): Promise<LlWait> {
    const e = this.#entries.get(`${app}/${stream}`);
    if (!e || this.#closed || e.phase === "ended") {
      return Promise.resolve(this.#count({ kind: "gone" }));
    }
    if (e.stream.has(msn, part)) return Promise.resolve({ kind: "ready" });
    if (this.#held >= this.#o.maxHeldRequests) {
      return Promise.resolve(this.#count({ kind: "busy" }));
    }
    if (signal?.aborted) {
      return Promise.resolve(this.#count({ kind: "aborted" }));
    }
    return new Promise<LlWait>((resolve) => {
      const onAbort = () => waiter.settle({ kind: "aborted" });
      const timer = setTimeout(
        () => waiter.settle({ kind: "timeout" }),
        this.#holdMs,
      );
      const waiter: Waiter = {
        msn,
        part,
        settle: (result) => {
          if (!e.waiters.delete(waiter)) return;
          this.#held--;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(this.#count(result));
        },
      };
      e.waiters.add(waiter);
      this.#held++;
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Stops: no more packaging, every timer cleared, every held request answered `gone`. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const e of this.#entries.values()) {
      clearTimeout(e.timer);
      e.timer = undefined;
      for (const w of [...e.waiters]) w.settle({ kind: "gone" });
    }
  }

  #count(result: LlWait): LlWait {
    this.#holds.inc({ outcome: result.kind });
    return result;
  }

  #epoch(): string {
    // Unique per process start and publish: names are never reused (edges keep them a day).
    return `${this.#now().toString(36)}${(this.#epochs++).toString(36)}`;
  }

  #newStream(
    e: Entry | undefined,
    key: string,
  ): LlHlsStream {
    const prev = e?.stream;
    const stream = new LlHlsStream({
      targetDurationMs: this.#o.targetDurationMs,
      keyframeTolerance: this.#o.keyframeTolerance,
      partTargetMs: this.#o.partTargetMs,
      windowSegments: this.#o.windowSegments,
      epoch: this.#epoch(),
      now: this.#now,
      // A republish (or a codec change) goes on numbering behind a discontinuity: players
      // reloading the same URL see a playlist that moved forward, never back.
      firstMsn: prev ? prev.nextMsn : 0,
      discontinuitySequence: prev ? prev.discontinuitySequence + 1 : 0,
      onPart: (part) => {
        this.#parts.inc();
        this.#partBytes.inc(part.bytes.byteLength);
        const entry = this.#entries.get(key);
        if (entry) this.#wake(entry);
      },
    });
    return stream;
  }

  #onPublish(hub: Hub): void {
    if (this.#closed || !this.#apps.has(hub.app)) return;
    const key = `${hub.app}/${hub.name}`;
    let e = this.#entries.get(key);
    if (e) {
      clearTimeout(e.timer);
      e.timer = undefined;
      e.stream = this.#newStream(e, key);
      e.phase = "live";
      // Requests for the old publish's media are answered with the new playlist (its
      // numbering is past theirs); the rest keep waiting for the new publish's parts.
      this.#wake(e);
    } else {
      e = {
        key,
        stream: this.#newStream(undefined, key),
        phase: "live",
        timer: undefined,
        waiters: new Set(),
      };
      this.#entries.set(key, e);
    }
    const entry = e;
    let stream = entry.stream;
    hub.addListener({
      onTag: (tag) => {
        if (entry.stream !== stream) return; // a newer publish took over
        stream.onTag(tag);
        if (stream.codecChanged) {
          // One init segment per epoch: a new codec starts a new epoch, fed from this tag.
          this.#log.info("LL-HLS codec change: new epoch", { stream: key });
          stream.onEnd();
          entry.stream = this.#newStream(entry, key);
          stream = entry.stream;
          this.#wake(entry);
          stream.onTag(tag);
        }
      },
      onEnd: () => {
        if (entry.stream !== stream) return;
        this.#onUnpublish(entry);
      },
      onBreak: () => {
        if (entry.stream !== stream) return;
        stream.onEnd();
        entry.stream = this.#newStream(entry, key);
        stream = entry.stream;
        this.#wake(entry);
      },
    });
  }

  #onUnpublish(e: Entry): void {
    e.stream.onEnd();
    if (this.#closed) return;
    e.phase = "grace";
    e.timer = setTimeout(() => {
      e.stream.markEnded();
      e.phase = "ended";
      this.#wakeGone(e);
      e.timer = setTimeout(() => {
        if (this.#entries.get(e.key) === e && e.phase === "ended") {
          this.#entries.delete(e.key);
        }
      }, this.#o.endedRetentionMs);
    }, this.#o.endGraceMs);
  }

  /** Answers the held requests of `e` whose part now exists. */
  #wake(e: Entry): void {
    if (e.waiters.size === 0) return;
    for (const w of [...e.waiters]) {
      if (e.stream.has(w.msn, w.part)) w.settle({ kind: "ready" });
    }
  }

  #wakeGone(e: Entry): void {
    for (const w of [...e.waiters]) w.settle({ kind: "gone" });
  }
}
