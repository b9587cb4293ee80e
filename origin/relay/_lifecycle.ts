/**
 * The start/end bookkeeping both pull transports share: `started` settles once, `ended`
 * resolves once with the first reason, a start deadline and a silence deadline.
 *
 * @module
 */

import { RelayError, RelayErrorCode } from "./errors.ts";

/** Start and end of one connection, settled once each. */
export class PullLifecycle {
  readonly started: Promise<void>;
  readonly ended: Promise<RelayError | undefined>;
  bytesIn = 0;
  #resolveStarted!: () => void;
  #rejectStarted!: (e: RelayError) => void;
  #resolveEnded!: (e: RelayError | undefined) => void;
  #isStarted = false;
  #over = false;
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  #silenceTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onOver: () => void;

  /**
   * @param startTimeoutMs The start must come within this.
   * @param onTimeout Makes the start's timeout error (names the upstream).
   * @param onOver Releases the transport (closes the socket, aborts the fetch); runs once.
   */
  constructor(
    startTimeoutMs: number,
    onTimeout: () => RelayError,
    onOver: () => void,
  ) {
    this.#onOver = onOver;
    this.started = new Promise<void>((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    // A start nobody awaits (the pull was closed first) is not an unhandled rejection.
    this.started.catch(() => {});
    this.ended = new Promise((resolve) => this.#resolveEnded = resolve);
    this.#startTimer = setTimeout(
      () => this.fail(onTimeout()),
      startTimeoutMs,
    );
  }

  get isStarted(): boolean {
    return this.#isStarted;
  }

  get over(): boolean {
    return this.#over;
  }

  /** Media flows. */
  start(): void {
    if (this.#over || this.#isStarted) return;
    this.#isStarted = true;
    clearTimeout(this.#startTimer);
    this.#resolveStarted();
  }

  /**
   * Restarts the silence deadline (after every read).
   * @param make The timeout's error, made only if it fires.
   */
  heard(ms: number, make: () => RelayError): void {
    if (this.#over) return;
    clearTimeout(this.#silenceTimer);
    this.#silenceTimer = setTimeout(() => this.fail(make()), ms);
  }

  /** The connection failed (first reason wins); before the start, the start rejects with it. */
  fail(error: RelayError): void {
    if (this.#over) return;
    if (!this.#isStarted) this.#rejectStarted(error);
    this.#finish(error);
  }

  /** The upstream ended the stream cleanly, or we closed: `ended` resolves with nothing. */
  end(): void {
    if (this.#over) return;
    if (!this.#isStarted) {
      this.#rejectStarted(
        new RelayError(RelayErrorCode.Broken, "Pull closed before it started"),
      );
    }
    this.#finish(undefined);
  }

  #finish(error: RelayError | undefined): void {
    this.#over = true;
    clearTimeout(this.#startTimer);
    clearTimeout(this.#silenceTimer);
    this.#onOver();
    this.#resolveEnded(error);
  }
}
