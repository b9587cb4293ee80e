/**
 * HTTP callbacks about publish and play, in the manner of SRS's `http_hooks`: a JSON POST per
 * event to a configured URL. `on_publish` and `on_play` are asked (a non-2xx answer refuses;
 * a failure follows `onFailure`); `on_stop` and `on_unpublish` are told, fire and forget.
 *
 * The body never carries secrets: `token`, `key`, `cred` and similar query parameters are
 * removed before it is built.
 *
 * @module
 */

import type { OriginHooksConfig } from "../../config/mod.ts";
import { describeError, type Logger } from "../log.ts";

/** The four hook actions (SRS's names). */
export const HookAction = {
  Publish: "on_publish",
  Play: "on_play",
  Stop: "on_stop",
  Unpublish: "on_unpublish",
} as const;
/** One of {@link HookAction}. */
export type HookAction = typeof HookAction[keyof typeof HookAction];

/** What a hook is told. */
export interface HookEvent {
  readonly action: HookAction;
  readonly app: string;
  readonly stream: string;
  /** The client's IP address. */
  readonly ip: string;
  /** How the client came: `rtmp`, `flv`, `hls`, `rtsp` or `srt`. */
  readonly protocol: "rtmp" | "flv" | "hls" | "rtsp" | "srt" | "webrtc";
  /** The client's query parameters, secrets removed (see {@link publicParams}). */
  readonly params: Readonly<Record<string, string>>;
}

/** Outcome of {@link HookClient.ask}. */
export type HookVerdict =
  | { readonly allowed: true }
  | {
    readonly allowed: false;
    /** `denied`: the hook answered non-2xx; `failed`: no answer (timeout, refused, …). */
    readonly reason: "denied" | "failed";
    /** Safe to show the client: status code or failure kind, never the hook URL. */
    readonly detail: string;
  };

/** Query parameter names never passed on (access tokens, publish keys, credentials). */
const SECRET_PARAM = /token|key|cred|secret|password|sig|auth/i;

/**
 * The client's parameters without anything that looks like a secret.
 *
 * @example
 * ```ts
 * import { publicParams } from "./hooks.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(publicParams({ token: "t", key: "k", cred: "c", lang: "en" }), { lang: "en" });
 * ```
 */
export function publicParams(
  params: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (!SECRET_PARAM.test(k)) out[k] = v;
  }
  return out;
}

/** What {@link HookClient} needs. */
export interface HookClientDeps {
  readonly log: Logger;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Calls the configured hooks. */
export class HookClient {
  readonly #config: OriginHooksConfig;
  readonly #log: Logger;
  readonly #fetch: typeof fetch;
  readonly #pending = new Set<Promise<void>>();

  constructor(config: OriginHooksConfig, deps: HookClientDeps) {
    this.#config = config;
    this.#log = deps.log;
    this.#fetch = deps.fetch ?? fetch;
  }

  /** True when the hook of `action` is configured. */
  has(action: HookAction): boolean {
    return this.#urlOf(action) !== "";
  }

  /**
   * Asks the hook of `event.action`; allowed when none is configured.
   *
   * @returns Allowed on a 2xx answer; refused on another status; on a failure, what
   *   `onFailure` says.
   */
  async ask(event: HookEvent): Promise<HookVerdict> {
    const url = this.#urlOf(event.action);
    if (url === "") return { allowed: true };
    const started = performance.now();
    try {
      const res = await this.#post(url, event);
      if (res >= 200 && res < 300) return { allowed: true };
      this.#log.info("hook denied", {
        action: event.action,
        stream: `${event.app}/${event.stream}`,
        status: res,
      });
      return { allowed: false, reason: "denied", detail: `status ${res}` };
    } catch (err) {
      const timedOut = err instanceof DOMException &&
        err.name === "TimeoutError";
      const detail = timedOut
        ? `no answer in ${this.#config.timeoutMs} ms`
        : "unreachable";
      const allow = this.#config.onFailure === "allow";
      this.#log.warn("hook failed", {
        action: event.action,
        stream: `${event.app}/${event.stream}`,
        error: timedOut ? detail : describeError(err),
        seconds: Math.round(performance.now() - started) / 1000,
        policy: this.#config.onFailure,
      });
      return allow
        ? { allowed: true }
        : { allowed: false, reason: "failed", detail };
    }
  }

  /** Tells the hook of `event.action` without waiting; failures are logged, not returned. */
  notify(event: HookEvent): void {
    const url = this.#urlOf(event.action);
    if (url === "") return;
    const p = this.#post(url, event).then(
      () => {},
      (err) =>
        this.#log.warn("hook failed", {
          action: event.action,
          stream: `${event.app}/${event.stream}`,
          error: describeError(err),
        }),
    ).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Waits for notifications in flight (each bounded by the timeout). */
  async drain(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  #urlOf(action: HookAction): string {
    switch (action) {
      case HookAction.Publish:
        return this.#config.onPublish;
      case HookAction.Play:
        return this.#config.onPlay;
      case HookAction.Stop:
        return this.#config.onStop;
      case HookAction.Unpublish:
        return this.#config.onUnpublish;
    }
  }

  async #post(url: string, event: HookEvent): Promise<number> {
    const res = await this.#fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        action: event.action,
        app: event.app,
        stream: event.stream,
        ip: event.ip,
        protocol: event.protocol,
        params: publicParams(event.params),
      }),
      signal: AbortSignal.timeout(this.#config.timeoutMs),
      redirect: "manual",
    });
    // The body is not used; consume it so the connection is released.
    await res.body?.cancel();
    return res.status;
  }
}
