/**
 * Access checks on the edge, for objects and live streams the origin marked as protected
 * (`marker.ts`). The policy (which app needs what) stays in the origin's config; the edge only
 * enforces what the mark says, with the session key every node shares through the store.
 *
 * Hot-path rule, as on the origin: a cache hit never touches the store. A credential is an HMAC
 * verify the first time it is seen, then a map lookup plus the store's in-memory revocation
 * cache. Only a new HTTP-FLV viewer of a shared upstream spends a token use (one store round
 * trip per playback session).
 *
 * @module
 */

import type { MeridianConfig } from "../../config/mod.ts";
import {
  type AccessRefusal,
  checkAccess,
  CREDENTIAL_PARAM,
  CREDENTIAL_TEXT,
  credentialPathOf,
  loadSessionKey,
  type Refusal,
  refusal,
  RevocationWatch,
  SessionCache,
  type SessionKey,
  TOKEN_TEXT,
} from "../../access/mod.ts";
import type { Logger } from "../../log/mod.ts";
import type { CounterChild, MetricsRegistry } from "../../metrics/mod.ts";
import type { SharedStore } from "../../store/mod.ts";
import { ACCESS_MARKER_HEADER, AccessMark } from "./marker.ts";

/** Credentials remembered as verified; past this the oldest are forgotten (verified again). */

/** Why the edge refused a request. */
export type EdgeRefusalReason =
  | AccessRefusal
  | "missing_credential"
  | "bad_credential"
  | "expired_credential"
  | "store_failed"
  | "unavailable";

/** A refusal, with what to tell the client: never the token or credential presented. */
export type EdgeRefusal = Refusal<EdgeRefusalReason>;

/** What to do with a request for a cached object of a protected stream. */
export type ObjectAccess =
  | {
    readonly kind: "allow";
    /** The viewer's checked credential (a playlist gets it re-applied to its URIs). */
    readonly credential: string;
  }
  /** A new playback session (`.m3u8?token=` or hook-approved): only the origin opens it. */
  | { readonly kind: "forward" }
  | { readonly kind: "refuse"; readonly refusal: EdgeRefusal };

/** Permission for a new viewer to join a shared live upstream. */
export type JoinAccess =
  | {
    readonly ok: true;
    /** The token spent, so a revocation can end this viewer. */
    readonly subject: string | undefined;
  }
  | EdgeRefusal;

/** What {@link EdgeAccess} needs. */
export interface EdgeAccessDeps {
  /** The shared store: token uses (`checkAccess`), revocations (memory and feed). */
  readonly store: SharedStore;
  /** The session key the origin signs credentials with (`loadSessionKey`). */
  readonly sessionKey: SessionKey;
  readonly log: Logger;
  readonly metrics?: MetricsRegistry | undefined;
  /** @default Date.now */
  readonly now?: () => number;
}

const refuse: (
  reason: EdgeRefusalReason,
  description: string,
  status?: 401 | 403 | 503,
) => EdgeRefusal = refusal;

/** Refusal of a protected request when this edge has no store or session key to check it. */
export const UNAVAILABLE: EdgeRefusal = refuse(
  "unavailable",
  "Access check unavailable",
  503,
);

const PLAYLIST_EXT = ".m3u8";

/** The app of a media path (`live` in `/live/demo.flv`). */
export function appOf(pathname: string): string {
  return pathname.split("/", 2)[1] ?? "";
}

/**
 * Enforces the origin's marks on the edge.
 *
 * @example
 * ```ts ignore
 * const access = await EdgeAccess.open(config.auth, { store, log });
 * const verdict = await access.authorizeObject(url, "token");
 * ```
 */
export class EdgeAccess {
  readonly #store: SharedStore;
  readonly #key: SessionKey;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #sessions: SessionCache;
  readonly #revocations: RevocationWatch;
  readonly #refusals: ReturnType<MetricsRegistry["counter"]> | undefined;
  readonly #spends: CounterChild | undefined;

  constructor(deps: EdgeAccessDeps) {
    this.#store = deps.store;
    this.#key = deps.sessionKey;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#sessions = new SessionCache(
      deps.sessionKey,
      (s: string) => deps.store.isRevoked(s),
      this.#now,
    );
    this.#revocations = new RevocationWatch(
      deps.store,
      (err) =>
        this.#log.warn("closing a revoked viewer failed", {
          error: err instanceof Error ? err.message : String(err),
        }),
    );
    this.#refusals = deps.metrics?.counter(
      "meridian_edge_access_refusals_total",
      "Requests for protected streams the edge refused, by protocol and reason",
    );
    this.#spends = deps.metrics?.counter(
      "meridian_edge_token_spends_total",
      "Token uses spent here (a viewer joining a protected live stream with ?token=)",
    ).labels();
  }

  /**
   * Loads the shared session key (`auth.sessionSecret`, or the one generated in the store) and
   * builds the checker.
   *
   * @throws {TokenError} When `auth.sessionSecret` is set but too short.
   */
  static async open(
    auth: Pick<MeridianConfig["auth"], "sessionSecret">,
    deps: Omit<EdgeAccessDeps, "sessionKey">,
  ): Promise<EdgeAccess> {
    const sessionKey = await loadSessionKey(auth, deps.store);
    return new EdgeAccess({ ...deps, sessionKey });
  }

  /**
   * Decides a request for an object of a protected stream that the edge holds (or is fetching
   * for another request). No store round trip.
   *
   * - With `?cred=`: allowed when the credential is genuine, unexpired, covers the path and its
   *   token is not revoked; else 403.
   * - A playlist without one: a new playback session, so `forward` it to the origin (never
   *   cached) when it has `?token=` or the mark is `session`; else 401.
   * - A segment without one: 401.
   */
  async authorizeObject(url: URL, mark: AccessMark): Promise<ObjectAccess> {
    const cred = url.searchParams.get(CREDENTIAL_PARAM);
    if (cred === null || cred === "") {
      // A token opens a session at the origin (a live playlist, or any URL of a protected
      // library file): it answers 302 to the credential URL, which this edge then checks. A
      // live segment is never a session's first request: refused here, the origin spared.
      const token = url.searchParams.has("token");
      if (mark === AccessMark.File && token) return { kind: "forward" };
      if (url.pathname.endsWith(PLAYLIST_EXT)) {
        if (mark === AccessMark.Session || token) return { kind: "forward" };
        return this.#refusedObject(refuse("missing", TOKEN_TEXT.missing, 401));
      }
      return this.#refusedObject(refuse(
        "missing_credential",
        "Session credential required: open the playlist first",
        401,
      ));
    }
    const r = await this.checkCredential(cred, credentialPathOf(url.pathname));
    return r.ok ? { kind: "allow", credential: cred } : this.#refusedObject(r);
  }

  /**
   * Checks a session credential for `path`: an HMAC verify the first time it is seen, then
   * expiry, path prefix and the in-memory revocation cache.
   */
  async checkCredential(
    credential: string,
    path: string,
  ): Promise<{ readonly ok: true } | EdgeRefusal> {
    const v = await this.#sessions.check(credential, path);
    return v.ok ? { ok: true } : refuse(v.reason, CREDENTIAL_TEXT[v.reason]);
  }

  /**
   * Lets a new viewer join the shared upstream of a protected live stream: spends one use of
   * its `?token=` (atomically, in the store), as the origin would for a direct viewer.
   *
   * @param url The viewer's request URL (`/{app}/{stream}.flv?token=…`).
   * @param mark The stream's mark; `session` (hook-gated HLS) never reaches here.
   */
  async authorizeJoin(url: URL, mark: AccessMark): Promise<JoinAccess> {
    if (mark !== AccessMark.Token) return { ok: true, subject: undefined };
    const token = url.searchParams.get("token") ?? undefined;
    let r;
    try {
      r = await checkAccess(this.#store, {
        token,
        app: appOf(url.pathname),
        now: this.#now(),
      });
    } catch (err) {
      this.#log.error("access check failed", {
        stream: url.pathname,
        error: err instanceof Error ? err.message : String(err),
      });
      return this.#refused(
        "flv",
        refuse("store_failed", "Access check unavailable", 503),
      );
    }
    if (!r.ok) {
      return this.#refused(
        "flv",
        refuse(
          r.reason,
          TOKEN_TEXT[r.reason],
          r.reason === "missing" ? 401 : 403,
        ),
      );
    }
    this.#spends?.inc();
    return { ok: true, subject: token };
  }

  /**
   * Calls `onRevoke` once if `subject`'s token is revoked (the store's feed brings revocations
   * from every node within a poll interval).
   *
   * @returns A function that stops watching; call it when the viewer leaves.
   */
  watch(subject: string | undefined, onRevoke: () => void): () => void {
    return this.#revocations.watch(subject, onRevoke);
  }

  /** Counts a refusal decided elsewhere (a protected object with no checker). */
  refused(protocol: "hls" | "flv", refusal: EdgeRefusal): EdgeRefusal {
    return this.#refused(protocol, refusal);
  }

  /** Stops watching the feed. */
  close(): void {
    this.#revocations.close();
  }

  #refusedObject(refusal: EdgeRefusal): ObjectAccess {
    return { kind: "refuse", refusal: this.#refused("hls", refusal) };
  }

  #refused(protocol: "hls" | "flv", refusal: EdgeRefusal): EdgeRefusal {
    this.#refusals?.inc({ protocol, reason: refusal.reason });
    return refusal;
  }
}

/**
 * The response for a refusal: its status and description (never what was presented), not
 * cacheable, with the mark so a lower-tier edge learns the stream is protected.
 */
export function refusalResponse(
  refusal: EdgeRefusal,
  mark: AccessMark,
): Response {
  return new Response(refusal.description, {
    status: refusal.status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      "access-control-allow-origin": "*",
      [ACCESS_MARKER_HEADER]: mark,
      "cache-status": "Meridian; detail=access-refused",
      "x-cache": "MISS",
    },
  });
}
