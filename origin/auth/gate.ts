/**
 * The origin's access decisions, in one place for RTMP and HTTP: publish keys, play tokens,
 * playback-session credentials, hooks, and revocation of open sessions.
 *
 * Hot-path rule: only opening a session touches the shared store (one atomic token spend).
 * Credential checks are an HMAC verify the first time a credential is seen, then a map lookup;
 * revocations come from the store's in-memory cache, which its change feed keeps current.
 *
 * @module
 */

import type { OriginConfig } from "../../config/mod.ts";
import {
  type AccessRefusal,
  checkAccess,
  CREDENTIAL_TEXT,
  type Refusal as AccessRefusalOf,
  refusal,
  RevocationWatch,
  SessionCache,
  type SessionClaims,
  sessionExpiresAt,
  type SessionKey,
  signSession,
  TOKEN_TEXT,
} from "../../access/mod.ts";
import type { CounterChild, MetricsRegistry } from "../../metrics/mod.ts";
import type { SharedStore } from "../../store/mod.ts";
import { OriginError, OriginErrorCode } from "../errors.ts";
import { describeError, type Logger } from "../log.ts";
import { HookAction, HookClient, type HookEvent } from "./hooks.ts";
import { AccessMark } from "../../cluster/mod.ts";
import {
  type AccessPolicy,
  checkPublishKey,
  compileAccessPolicy,
} from "./policy.ts";

/** Credentials remembered as verified; past this the oldest are forgotten (verified again). */

/** Why a request was refused. */
export type RefusalReason =
  | AccessRefusal
  | "missing_key"
  | "wrong_key"
  | "hook_denied"
  | "hook_failed"
  | "missing_credential"
  | "bad_credential"
  | "expired_credential"
  | "store_failed";

/** A refusal, with what to tell the client: never a token, key or hook URL. */
export type Refusal = AccessRefusalOf<RefusalReason>;

/** Permission to publish or play. */
export interface Grant {
  readonly ok: true;
  /** The access token the session was opened with, if any. */
  readonly subject: string | undefined;
  /** When the session must end at the latest (the token's expiry), if bounded. */
  readonly expiresAtMs: number | undefined;
}

/** A publish or play request. */
export interface AccessRequest {
  readonly app: string;
  readonly stream: string;
  /** Query parameters (RTMP: tcUrl, app and stream name merged). */
  readonly params: Readonly<Record<string, string>>;
  /** Client IP address. */
  readonly ip: string;
  readonly protocol: HookEvent["protocol"];
}

/** The config slice of the gate. */
export interface AccessGateOptions {
  readonly apps: OriginConfig["apps"];
  readonly defaultApp: OriginConfig["defaultApp"];
  readonly hooks: OriginConfig["hooks"];
  /** `auth.enabled`: every app requires tokens. @default false */
  readonly tokensEverywhere?: boolean;
  /** `auth.sessionSeconds`: longest session one token use buys. */
  readonly sessionSeconds: number;
}

/** What the gate needs. */
export interface AccessGateDeps {
  /** Needed when any app requires tokens. */
  readonly store?: SharedStore | undefined;
  /** Needed when any app requires tokens or an on_play hook is set. */
  readonly sessionKey?: SessionKey | undefined;
  readonly log: Logger;
  readonly metrics?: MetricsRegistry;
  /** @default Date.now */
  readonly now?: () => number;
  /** For hooks. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

function noStore(): OriginError {
  return new OriginError(
    OriginErrorCode.AccessSetup,
    "Cannot check an access token: the origin has no shared store",
  );
}

function noSessionKey(): OriginError {
  return new OriginError(
    OriginErrorCode.AccessSetup,
    "Cannot use playback sessions: the origin has no session key",
  );
}

const refuse: (
  reason: RefusalReason,
  description: string,
  status?: 401 | 403 | 503,
) => Refusal = refusal;

/**
 * Decides publish and play requests for the origin's RTMP and HTTP servers.
 *
 * @example
 * ```ts
 * import { AccessGate } from "./gate.ts";
 * import { parseConfig } from "../../config/mod.ts";
 * import { silentLogger } from "../log.ts";
 * const o = parseConfig({ origin: { apps: [{ name: "live", publishKeys: ["k1"] }] } }).origin;
 * const gate = new AccessGate({ ...o, sessionSeconds: 60 }, { log: silentLogger });
 * const req = { app: "live", stream: "cam", ip: "127.0.0.1", protocol: "rtmp" } as const;
 * const ok = await gate.authorizePublish({ ...req, params: { key: "k1" } });
 * const no = await gate.authorizePublish({ ...req, params: { key: "k2" } });
 * await gate.close();
 * if (!ok.ok || no.ok || no.reason !== "wrong_key") throw new Error("publish keys");
 * ```
 */
export class AccessGate {
  readonly #policy: AccessPolicy;
  readonly #hooks: HookClient;
  readonly #store: SharedStore | undefined;
  /** The session key and the cache of credentials it verified; both or neither. */
  readonly #sessions:
    | { readonly key: SessionKey; readonly cache: SessionCache }
    | undefined;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #sessionSeconds: number;
  readonly #revocations: RevocationWatch;
  readonly #spends: CounterChild | undefined;
  readonly #refusals:
    | ReturnType<MetricsRegistry["counter"]>
    | undefined;

  /**
   * @throws {OriginError} `ORIGIN_ACCESS_SETUP` when an app requires tokens and no store or
   *   session key is given, or an on_play hook is set without a session key (config-time, never
   *   per request).
   */
  constructor(options: AccessGateOptions, deps: AccessGateDeps) {
    this.#policy = compileAccessPolicy(options, {
      tokensEverywhere: options.tokensEverywhere ?? false,
    });
    this.#hooks = new HookClient(options.hooks, {
      log: deps.log.child("hooks"),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    this.#store = deps.store;
    this.#log = deps.log;
    // A test seam: the gate's clock. @default Date.now
    this.#now = deps.now ?? Date.now;
    const key = deps.sessionKey;
    this.#sessions = key
      ? {
        key,
        cache: new SessionCache(
          key,
          (s: string) => deps.store?.isRevoked(s) ?? false,
          this.#now,
        ),
      }
      : undefined;
    this.#sessionSeconds = options.sessionSeconds;
    if (this.#policy.needsTokens && (!deps.store || !deps.sessionKey)) {
      throw new OriginError(
        OriginErrorCode.AccessSetup,
        "Cannot enforce access tokens: an app requires them but the origin has no shared store",
      );
    }
    if (this.#hooks.has(HookAction.Play) && !deps.sessionKey) {
      throw new OriginError(
        OriginErrorCode.AccessSetup,
        "Cannot use the on_play hook for HLS: the origin has no session key",
      );
    }
    this.#revocations = new RevocationWatch(
      deps.store,
      (err) =>
        this.#log.warn("closing a revoked session failed", {
          error: describeError(err),
        }),
    );
    this.#refusals = deps.metrics?.counter(
      "meridian_origin_access_refusals_total",
      "Publish and play requests refused, by protocol and reason",
    );
    this.#spends = deps.metrics?.counter(
      "meridian_origin_token_spends_total",
      "Token uses spent here (a play or HLS session opened with ?token=; refusals in meridian_origin_access_refusals_total)",
    ).labels();
  }

  /**
   * True when playing `app` over HLS needs a session credential: the app requires tokens, or
   * an on_play hook must approve each session.
   */
  sessionRequired(app: string): boolean {
    return this.#policy.accessOf(app) === "token" ||
      this.#hooks.has(HookAction.Play);
  }

  /**
   * The access marker for responses about `app` over `protocol` (see `marker.ts`): `token` when
   * the app requires tokens; `session` for HLS when only an on_play hook gates it (an edge then
   * checks credentials but cannot ask the hook for an HTTP-FLV viewer); `undefined` when open.
   */
  accessMark(app: string, protocol: "flv" | "hls"): AccessMark | undefined {
    if (this.#policy.accessOf(app) === "token") return AccessMark.Token;
    if (protocol === "hls" && this.#hooks.has(HookAction.Play)) {
      return AccessMark.Session;
    }
    return undefined;
  }

  /**
   * The accepted publish key of `app/stream` that `test` picks, if any: how RTSP's Digest
   * (RFC 7616), which never sends the password, is matched against the keys.
   */
  publishKeyMatching(
    app: string,
    stream: string,
    test: (key: string) => boolean,
  ): string | undefined {
    return this.#policy.publishKeysOf(app, stream).find(test);
  }

  /** True when publishing `app/stream` needs a key. */
  publishKeyRequired(app: string, stream: string): boolean {
    return this.#policy.publishKeysOf(app, stream).length > 0;
  }

  /** True when playing `app` needs an access token. */
  tokenRequired(app: string): boolean {
    return this.#policy.accessOf(app) === "token";
  }

  /** Checks the publish key (`?key=`), then asks on_publish. Logs one line when refused. */
  async authorizePublish(request: AccessRequest): Promise<Grant | Refusal> {
    const keys = this.#policy.publishKeysOf(request.app, request.stream);
    const check = checkPublishKey(keys, request.params.key);
    if (check !== "ok") {
      return this.#refused(
        "publish",
        request,
        refuse(
          check === "missing" ? "missing_key" : "wrong_key",
          check === "missing"
            ? "Publish key required: add ?key= to the stream name"
            : "Publish key wrong",
        ),
      );
    }
    const hook = await this.#hooks.ask(
      this.#event(HookAction.Publish, request),
    );
    if (!hook.allowed) {
      return this.#refused(
        "publish",
        request,
        this.#hookRefusal(hook, "on_publish"),
      );
    }
    return { ok: true, subject: undefined, expiresAtMs: undefined };
  }

  /**
   * Spends one use of the `?token=` when the app requires tokens, then asks on_play. One call is
   * one playback session.
   */
  async authorizePlay(request: AccessRequest): Promise<Grant | Refusal> {
    let subject: string | undefined;
    let expiresAtMs: number | undefined;
    if (this.#policy.accessOf(request.app) === "token") {
      const token = request.params.token;
      let r;
      try {
        // The constructor refused tokens without a store; this names the case for the type.
        if (!this.#store) throw noStore();
        r = await checkAccess(this.#store, {
          token,
          app: request.app,
          now: this.#now(),
        });
      } catch (err) {
        this.#log.error("access check failed", {
          stream: `${request.app}/${request.stream}`,
          error: describeError(err),
        });
        return this.#refused(
          "play",
          request,
          refuse("store_failed", "Access check unavailable", 503),
        );
      }
      if (!r.ok) {
        return this.#refused(
          "play",
          request,
          refuse(
            r.reason,
            TOKEN_TEXT[r.reason],
            r.reason === "missing" ? 401 : 403,
          ),
        );
      }
      this.#spends?.inc();
      subject = token;
      expiresAtMs = r.expiresAtMs;
    }
    const hook = await this.#hooks.ask(this.#event(HookAction.Play, request));
    if (!hook.allowed) {
      return this.#refused("play", request, this.#hookRefusal(hook, "on_play"));
    }
    return { ok: true, subject, expiresAtMs };
  }

  /**
   * Opens an HLS playback session: {@link authorizePlay}, then a credential for the paths
   * below `/{app}/{stream}/`, valid for `sessionSeconds` (never past the token's expiry).
   *
   * @throws {OriginError} `ORIGIN_ACCESS_SETUP` when the gate has no session key (call it only
   *   where {@link sessionRequired} is true).
   */
  async openHlsSession(
    request: Omit<AccessRequest, "protocol">,
  ): Promise<{ readonly ok: true; readonly credential: string } | Refusal> {
    const grant = await this.authorizePlay({ ...request, protocol: "hls" });
    if (!grant.ok) return grant;
    // Sessions are opened only where sessionRequired(), which the constructor gave a key.
    if (!this.#sessions) throw noSessionKey();
    const now = this.#now();
    const claims: SessionClaims = {
      pathPrefix: sessionPath(request.app, request.stream),
      expiresAtMs: sessionExpiresAt(
        { expiresAtMs: grant.expiresAtMs ?? Infinity },
        now,
        this.#sessionSeconds,
      ),
      ...(grant.subject === undefined ? {} : { subject: grant.subject }),
    };
    return {
      ok: true,
      credential: await signSession(claims, this.#sessions.key),
    };
  }

  /**
   * Checks a session credential for a path (use {@link sessionPath} for a playlist). No store
   * round trip: a credential verified once is remembered, then only expiry, path and the
   * revocation cache are checked.
   *
   * @throws {OriginError} `ORIGIN_ACCESS_SETUP` when the gate has no session key (call it only
   *   where {@link sessionRequired} is true).
   */
  async checkCredential(
    credential: string | undefined,
    path: string,
  ): Promise<{ readonly ok: true } | Refusal> {
    if (credential === undefined || credential === "") {
      return refuse(
        "missing_credential",
        "Session credential required: open the playlist first",
        401,
      );
    }
    if (!this.#sessions) throw noSessionKey();
    const v = await this.#sessions.cache.check(credential, path);
    return v.ok ? { ok: true } : refuse(v.reason, CREDENTIAL_TEXT[v.reason]);
  }

  /**
   * Calls `onRevoke` once if `subject`'s token is revoked while the session is open (the feed
   * brings revocations from every node within a poll interval).
   *
   * @returns A function that stops watching; call it when the session ends.
   */
  watch(subject: string | undefined, onRevoke: () => void): () => void {
    return this.#revocations.watch(subject, onRevoke);
  }

  /** Tells on_stop (a viewer left) or on_unpublish (a publisher left), fire and forget. */
  ended(kind: "play" | "publish", request: AccessRequest): void {
    this.#hooks.notify(
      this.#event(
        kind === "play" ? HookAction.Stop : HookAction.Unpublish,
        request,
      ),
    );
  }

  /** Stops watching the feed and waits for hook notifications in flight. */
  async close(): Promise<void> {
    this.#revocations.close();
    await this.#hooks.drain();
  }

  #event(action: HookAction, r: AccessRequest): HookEvent {
    return {
      action,
      app: r.app,
      stream: r.stream,
      ip: r.ip,
      protocol: r.protocol,
      params: r.params,
    };
  }

  #hookRefusal(
    hook: { reason: "denied" | "failed"; detail: string },
    name: string,
  ): Refusal {
    return hook.reason === "denied"
      ? refuse("hook_denied", `Denied by the ${name} hook (${hook.detail})`)
      : refuse("hook_failed", `The ${name} hook failed (${hook.detail})`, 503);
  }

  #refused(
    kind: "publish" | "play",
    request: AccessRequest,
    refusal: Refusal,
  ): Refusal {
    this.#refusals?.inc({ protocol: request.protocol, reason: refusal.reason });
    // One line per refusal; the request's parameters (token, key) are never logged.
    this.#log.info(`${kind} refused`, {
      ip: request.ip,
      stream: `${request.app}/${request.stream}`,
      protocol: request.protocol,
      reason: refusal.reason,
    });
    return refusal;
  }
}

/**
 * The path a stream's session credential covers, which is also the path a playlist request is
 * checked as: `/{app}/{stream}/` (so `/live/demo` never matches `/live/demo2/…`).
 *
 * @example
 * ```ts
 * import { sessionPath } from "./gate.ts";
 * if (sessionPath("live", "demo") !== "/live/demo/") throw new Error();
 * ```
 */
export function sessionPath(app: string, stream: string): string {
  return `/${app}/${stream}/`;
}
