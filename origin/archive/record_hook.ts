/**
 * The `onRecordDone` webhook: a JSON POST per finished recording file to
 * `origin.hooks.onRecordDone`, retried with exponential backoff until the hook answers 2xx
 * (a CMS that imports recordings must not miss one because it restarted).
 *
 * @module
 */

import { describeError, type Logger } from "../log.ts";

/** Attempts per file (the first and the retries). */
export const RECORD_HOOK_ATTEMPTS = 8;
/** The first retry waits this long (ms); each next one twice as long... */
export const RECORD_HOOK_FIRST_RETRY_MS = 1_000;
/** ...up to this (ms): the eighth attempt comes about 4 minutes after the first. */
export const RECORD_HOOK_MAX_RETRY_MS = 120_000;

/** What the hook is told about one file. */
export interface RecordDoneEvent {
  readonly app: string;
  readonly stream: string;
  /** Path in the library (`recordings/live/cam/2024-05-01T12-00-00Z.mp4`). */
  readonly path: string;
  /** Its VOD URL on this origin, when the folder is a library. */
  readonly url: string | undefined;
  readonly format: "mp4" | "flv";
  /** When its first frame arrived (ISO 8601). */
  readonly start: string;
  /** Seconds of media. */
  readonly duration: number;
  readonly bytes: number;
}

/** Options of {@link RecordHook}. */
export interface RecordHookOptions {
  /** The URL; "" disables the hook. */
  readonly url: string;
  readonly timeoutMs: number;
  readonly log: Logger;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Waits `ms` (tests pass a fast one). @default setTimeout */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** Delivers `onRecordDone` events, each retried on its own. */
export class RecordHook {
  readonly #o: RecordHookOptions;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #pending = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  /** Deliveries that answered 2xx, and that gave up after every attempt. */
  readonly stats = { delivered: 0, failed: 0, retries: 0 };

  constructor(options: RecordHookOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  /** Deliveries in flight (waiting for an answer or for a retry). */
  get pending(): number {
    return this.#pending.size;
  }

  /** Starts delivering `event` (never throws; failures are logged). */
  notify(event: RecordDoneEvent): void {
    if (this.#o.url === "") return;
    const p = this.#deliver(event).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async #deliver(event: RecordDoneEvent): Promise<void> {
    let wait = RECORD_HOOK_FIRST_RETRY_MS;
    for (let attempt = 1; attempt <= RECORD_HOOK_ATTEMPTS; attempt++) {
      let problem: string;
      try {
        const res = await this.#fetch(this.#o.url, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ action: "on_record_done", ...event }),
          signal: AbortSignal.any([
            AbortSignal.timeout(this.#o.timeoutMs),
            this.#stop.signal,
          ]),
          redirect: "manual",
        });
        await res.body?.cancel();
        if (res.status >= 200 && res.status < 300) {
          this.stats.delivered++;
          return;
        }
        problem = `status ${res.status}`;
      } catch (err) {
        problem = describeError(err);
      }
      if (this.#stop.signal.aborted) return;
      if (attempt === RECORD_HOOK_ATTEMPTS) {
        this.stats.failed++;
        this.#o.log.error("onRecordDone hook gave up", {
          path: event.path,
          attempts: attempt,
          error: problem,
        });
        return;
      }
      this.stats.retries++;
      this.#o.log.warn("onRecordDone hook failed, retrying", {
        path: event.path,
        attempt,
        retrySeconds: wait / 1000,
        error: problem,
      });
      await this.#sleep(wait, this.#stop.signal);
      if (this.#stop.signal.aborted) return;
      wait = Math.min(wait * 2, RECORD_HOOK_MAX_RETRY_MS);
    }
  }

  /** Waits for deliveries in flight up to `graceMs`, then stops retrying. */
  async close(graceMs = 0): Promise<void> {
    if (this.#pending.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...this.#pending]),
      new Promise((r) => timer = setTimeout(r, graceMs)),
    ]);
    clearTimeout(timer);
    this.#stop.abort();
    await Promise.all([...this.#pending]);
  }
}
