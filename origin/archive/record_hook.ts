/**
 * The `onRecordDone` webhook: a JSON POST per finished recording file to
 * `origin.hooks.onRecordDone`, retried with exponential backoff until the hook answers 2xx
 * (a CMS that imports recordings must not miss one because it restarted).
 *
 * With an outbox folder (`dataDir/archive/hooks/`), a delivery is a file there until the hook
 * takes it or the attempts run out: written (atomically) before the first attempt, its attempt
 * count updated after each failed one, removed at the end. A restart (or a crash) resumes the
 * files left, from the attempt they had reached: at least once, never silently dropped. A
 * second event for the same file (its recovery after a crash) replaces the first.
 *
 * @module
 */

import { describeError, type Logger } from "../log.ts";
import { listDir, removeIfPresent, writeJsonAtomic } from "./files.ts";

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
  /** The outbox folder; undefined = deliveries live in memory only. */
  readonly dir?: string | undefined;
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

/** An outbox file: the event and the attempts already made. */
interface OutboxEntry {
  readonly event: RecordDoneEvent;
  readonly attempts: number;
}

/** One delivery: its latest event (a replaced one is sent from the next attempt on). */
interface Delivery {
  event: RecordDoneEvent;
  attempts: number;
}

/** The outbox name of a file's event: a hash of its format and path (unique, short). */
async function outboxName(event: RecordDoneEvent): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${event.format}\n${event.path}`),
  );
  return Array.from(new Uint8Array(digest).subarray(0, 16))
    .map((b) => b.toString(16).padStart(2, "0")).join("") + ".json";
}

function isEvent(v: unknown): v is RecordDoneEvent {
  const e = v as Partial<RecordDoneEvent> | null;
  return typeof e === "object" && e !== null &&
    typeof e.app === "string" && typeof e.stream === "string" &&
    typeof e.path === "string" && (e.format === "mp4" || e.format === "flv") &&
    typeof e.start === "string" && typeof e.duration === "number" &&
    typeof e.bytes === "number";
}

/** Delivers `onRecordDone` events, each retried on its own. */
export class RecordHook {
  readonly #o: RecordHookOptions;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #pending = new Set<Promise<void>>();
  /** Deliveries by outbox name (with or without an outbox). */
  readonly #deliveries = new Map<string, Delivery>();
  readonly #stop = new AbortController();
  /** Deliveries that answered 2xx, and that gave up after every attempt. */
  readonly stats = { delivered: 0, failed: 0, retries: 0, resumed: 0 };

  constructor(options: RecordHookOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  /** Deliveries in flight (waiting for an answer or for a retry). */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Starts the deliveries a previous run left in the outbox (unreadable files are logged and
   * removed). Returns how many.
   */
  async resume(): Promise<number> {
    const dir = this.#o.dir;
    if (dir === undefined || this.#o.url === "") return 0;
    let n = 0;
    for (const e of await listDir(dir)) {
      if (!e.isFile) continue;
      const path = `${dir}/${e.name}`;
      if (!e.name.endsWith(".json")) {
        // A `.tmp` a crash left mid-write: the entry it was replacing is still there.
        await removeIfPresent(path).catch(() => {});
        continue;
      }
      let entry: OutboxEntry | undefined;
      try {
        const v = JSON.parse(await Deno.readTextFile(path)) as OutboxEntry;
        if (isEvent(v?.event) && Number.isInteger(v.attempts)) entry = v;
      } catch {
        // unreadable: dropped below
      }
      if (!entry) {
        this.#o.log.warn("onRecordDone outbox entry unreadable, dropped", {
          file: path,
        });
        await removeIfPresent(path).catch(() => {});
        continue;
      }
      if (this.#deliveries.has(e.name)) continue;
      this.#start(e.name, {
        event: entry.event,
        attempts: Math.max(0, entry.attempts),
      });
      n++;
    }
    this.stats.resumed += n;
    if (n > 0) {
      this.#o.log.info("onRecordDone deliveries resumed", { count: n });
    }
    return n;
  }

  /**
   * Starts delivering `event`; resolves once it is in the outbox (never rejects: a failed
   * outbox write is logged and the delivery goes on from memory).
   */
  async notify(event: RecordDoneEvent): Promise<void> {
    if (this.#o.url === "") return;
    const name = await outboxName(event);
    const known = this.#deliveries.get(name);
    if (known) {
      known.event = event;
      await this.#save(name, known);
      return;
    }
    const d: Delivery = { event, attempts: 0 };
    await this.#save(name, d);
    this.#start(name, d);
  }

  #start(name: string, d: Delivery): void {
    this.#deliveries.set(name, d);
    const p = this.#deliver(name, d).finally(() => {
      this.#pending.delete(p);
      this.#deliveries.delete(name);
    });
    this.#pending.add(p);
  }

  async #save(name: string, d: Delivery): Promise<void> {
    const dir = this.#o.dir;
    if (dir === undefined) return;
    try {
      await Deno.mkdir(dir, { recursive: true });
      const entry: OutboxEntry = { event: d.event, attempts: d.attempts };
      await writeJsonAtomic(`${dir}/${name}`, entry);
    } catch (err) {
      this.#o.log.error("onRecordDone outbox write failed", {
        path: d.event.path,
        error: describeError(err),
      });
    }
  }

  async #forget(name: string): Promise<void> {
    if (this.#o.dir === undefined) return;
    await removeIfPresent(`${this.#o.dir}/${name}`).catch(() => {});
  }

  async #deliver(name: string, d: Delivery): Promise<void> {
    let wait = RECORD_HOOK_FIRST_RETRY_MS;
    if (d.attempts > 0) {
      // Resumed: the backoff goes on from where the last run left it.
      for (let i = 1; i < d.attempts; i++) {
        wait = Math.min(wait * 2, RECORD_HOOK_MAX_RETRY_MS);
      }
      await this.#sleep(wait, this.#stop.signal);
      if (this.#stop.signal.aborted) return;
      wait = Math.min(wait * 2, RECORD_HOOK_MAX_RETRY_MS);
    }
    while (d.attempts < RECORD_HOOK_ATTEMPTS) {
      const attempt = ++d.attempts;
      const event = d.event;
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
          // A newer event for the same file came meanwhile: that one is still owed.
          if (d.event !== event) {
            d.attempts = 0;
            continue;
          }
          await this.#forget(name);
          return;
        }
        problem = `status ${res.status}`;
      } catch (err) {
        problem = describeError(err);
      }
      if (this.#stop.signal.aborted) {
        // Stopped (shutdown): the attempt cut short is made again by the next run.
        d.attempts--;
        await this.#save(name, d);
        return;
      }
      if (attempt === RECORD_HOOK_ATTEMPTS) {
        this.stats.failed++;
        this.#o.log.error("onRecordDone hook gave up", {
          path: event.path,
          attempts: attempt,
          error: problem,
        });
        await this.#forget(name);
        return;
      }
      this.stats.retries++;
      await this.#save(name, d);
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
    await this.#forget(name); // an entry that had no attempt left
  }

  /**
   * Waits for deliveries in flight up to `graceMs`, then stops retrying (those left stay in
   * the outbox for the next run).
   */
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
