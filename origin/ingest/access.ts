/**
 * Access control for the ingests that are not RTMP (SRT, RTSP, pulled sources): the same name
 * check, publish keys, play tokens and hooks as RTMP's ({@link AccessGate}), with the result a
 * protocol can map to its own answer (RTSP status codes, an SRT close).
 *
 * @module
 */

import type { AccessGate } from "../auth/gate.ts";
import { authorizeRtmpAccess, peerIp } from "../auth/rtmp.ts";

/** A publish or play request of a non-RTMP protocol. */
export interface IngestAccessRequest {
  readonly action: "publish" | "play";
  readonly protocol: "rtsp" | "srt" | "webrtc";
  readonly app: string;
  readonly stream: string;
  /** `key`, `token` and any other query parameters the client sent. */
  readonly params: Readonly<Record<string, string>>;
  /** `host:port`. */
  readonly peer: string;
}

/** An allowed publish or play: end it when it ends (on_stop / on_unpublish). */
export interface IngestAccessSession {
  /** Calls `onRevoke` once if the play's token is revoked while it is open. */
  watch(onRevoke: () => void): void;
  end(): void;
}

/** Why a request was refused: a bad name, credentials (401/403) or a failed check (503). */
export interface IngestRefusal {
  readonly allowed: false;
  /** `bad_name`, or the gate's reason (`missing_key`, `wrong_key`, `hook_denied`, …). */
  readonly reason: string;
  readonly status: 400 | 401 | 403 | 404 | 409 | 503;
  readonly description: string;
}

/** The decision. */
export type IngestAccessDecision =
  | { readonly allowed: true; readonly session: IngestAccessSession }
  | IngestRefusal;

/**
 * Decides a publish or play: the RTMP name rules, then the gate (when there is one).
 *
 * @example
 * ```ts
 * import { authorizeIngest } from "./access.ts";
 * import assert from "node:assert/strict";
 * const d = await authorizeIngest(undefined, {
 *   action: "publish", protocol: "srt", app: "live", stream: "../x", params: {}, peer: "127.0.0.1:5",
 * });
 * assert.equal(d.allowed, false);
 * ```
 */
export async function authorizeIngest(
  gate: AccessGate | undefined,
  r: IngestAccessRequest,
): Promise<IngestAccessDecision> {
  const named = authorizeRtmpAccess({
    action: r.action,
    app: r.app,
    name: r.stream,
    params: {},
    peer: r.peer,
  });
  if (!named.allowed) {
    return {
      allowed: false,
      reason: "bad_name",
      status: 400,
      description: named.description,
    };
  }
  if (!gate) return { allowed: true, session: { watch() {}, end() {} } };
  const request = {
    app: r.app,
    stream: r.stream,
    params: r.params,
    ip: peerIp(r.peer),
    protocol: r.protocol,
  } as const;
  const result = r.action === "publish"
    ? await gate.authorizePublish(request)
    : await gate.authorizePlay(request);
  if (!result.ok) {
    return {
      allowed: false,
      reason: result.reason,
      status: result.status,
      description: result.description,
    };
  }
  let unwatch = () => {};
  let ended = false;
  return {
    allowed: true,
    session: {
      watch(onRevoke) {
        unwatch = gate.watch(result.subject, onRevoke);
      },
      end() {
        if (ended) return;
        ended = true;
        unwatch();
        gate.ended(r.action, request);
      },
    },
  };
}
