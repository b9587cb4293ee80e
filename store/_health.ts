/**
 * Reachability of a store's backend, shared by the backends (module-private): one log line
 * when the backend is lost and one when it is back, never one per failed call.
 *
 * @module
 */

import { describeError, type Logger } from "../log/mod.ts";
import type { StoreHealth } from "./types.ts";

/** Longest `lastError` kept (characters). */
const MAX_ERROR_CHARS = 300;

/** Tracks up/down of one backend; {@link StoreHealth} is its snapshot. */
export class HealthTracker {
  readonly #backend: StoreHealth["backend"];
  readonly #location: string;
  readonly #log: Logger | undefined;
  readonly #clock: () => number;
  #up = true;
  #sinceMs: number;
  #outages = 0;
  #lastError = "";

  constructor(
    backend: StoreHealth["backend"],
    location: string,
    log: Logger | undefined,
    clock: () => number,
  ) {
    this.#backend = backend;
    this.#location = location;
    this.#log = log;
    this.#clock = clock;
    this.#sinceMs = clock();
  }

  get up(): boolean {
    return this.#up;
  }

  /** The backend answered. Logs once when it had been lost. */
  markUp(): void {
    if (this.#up) return;
    this.#up = true;
    const downMs = this.#clock() - this.#sinceMs;
    this.#sinceMs = this.#clock();
    this.#lastError = "";
    this.#log?.info("shared store reachable again; catching up", {
      store: this.#location,
      downSeconds: Math.round(downMs / 100) / 10,
    });
  }

  /** The backend is unreachable. Logs once per outage. */
  markDown(err: unknown): void {
    const text = describeError(err).slice(0, MAX_ERROR_CHARS);
    if (!this.#up) {
      this.#lastError = text;
      return;
    }
    this.#up = false;
    this.#outages++;
    this.#sinceMs = this.#clock();
    this.#lastError = text;
    this.#log?.warn("shared store unreachable; serving from memory", {
      store: this.#location,
      error: text,
    });
  }

  snapshot(): StoreHealth {
    return {
      backend: this.#backend,
      location: this.#location,
      up: this.#up,
      sinceMs: this.#sinceMs,
      outages: this.#outages,
      lastError: this.#lastError,
    };
  }
}
