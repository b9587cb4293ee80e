/**
 * Access control as the RTMP server sees it: the name check every publish and play passes
 * first ({@link authorizeRtmpAccess}), the interface the server asks after it
 * ({@link RtmpAccessControl}), and the gate adapted to it ({@link createRtmpAccessControl}):
 * refusals become `onStatus` codes, grants become sessions that end with on_stop /
 * on_unpublish and close on revocation.
 *
 * @module
 */

import type { RtmpParams } from "../../codec/rtmp/mod.ts";
import type { AccessGate, AccessRequest, Refusal } from "./gate.ts";

/** Stream and app names we accept: no path separators, no control characters. */
const NAME_PATTERN = /^[A-Za-z0-9_.\-]{1,128}$/;

/** A publish or play request as the access decision sees it. */
export interface RtmpAccessRequest {
  readonly action: "publish" | "play";
  readonly app: string;
  readonly name: string;
  readonly params: RtmpParams;
  readonly peer: string;
}

/** The answer: allowed, or refused with the `onStatus` code and description to send. */
export type RtmpAccessDecision =
  | {
    readonly allowed: true;
    /** The access session to end when the publish or play ends. */
    readonly session?: RtmpAccessSession;
  }
  | {
    readonly allowed: false;
    readonly code: string;
    readonly description: string;
  };

/** An allowed publish or play, as access control tracks it. */
export interface RtmpAccessSession {
  /** Calls `onRevoke` if the session's token is revoked while it is open. */
  watch(onRevoke: () => void): void;
  /** The publish or play ended (on_unpublish / on_stop); called once. */
  end(): void;
}

/** Access control as the RTMP server sees it ({@link createRtmpAccessControl} adapts the gate). */
export interface RtmpAccessControl {
  /**
   * Decides a request that passed the name check. While it runs the connection reads no
   * further input. A rejection closes the connection.
   */
  authorize(request: RtmpAccessRequest): Promise<RtmpAccessDecision>;
}

/**
 * The first check of every publish and play request: app and stream names must be safe
 * registry keys. Keys, tokens and hooks follow in the server's {@link RtmpAccessControl}.
 *
 * @param request What the client asked for.
 * @returns The decision.
 *
 * @example
 * ```ts
 * import { authorizeRtmpAccess } from "./rtmp.ts";
 * import assert from "node:assert/strict";
 * const base = { action: "publish", app: "live", params: {}, peer: "127.0.0.1:1" } as const;
 * assert.equal(authorizeRtmpAccess({ ...base, name: "demo" }).allowed, true);
 * assert.equal(authorizeRtmpAccess({ ...base, name: "../etc" }).allowed, false);
 * ```
 */
export function authorizeRtmpAccess(
  request: RtmpAccessRequest,
): RtmpAccessDecision {
  const badName = request.action === "publish"
    ? "NetStream.Publish.BadName"
    : "NetStream.Play.StreamNotFound";
  for (
    const [what, value] of [["app", request.app], [
      "stream",
      request.name,
    ]] as const
  ) {
    if (!NAME_PATTERN.test(value) || value === "." || value === "..") {
      return {
        allowed: false,
        code: badName,
        description:
          `Invalid ${what} name: expected 1-128 of A-Z a-z 0-9 _ . -`,
      };
    }
  }
  return { allowed: true };
}

/** The IP address of a `host:port` peer (IPv6 hosts contain colons too). */
export function peerIp(peer: string): string {
  const colon = peer.lastIndexOf(":");
  const host = colon > 0 ? peer.slice(0, colon) : peer;
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * The `onStatus` code for a refusal: `.Unauthorized` when the client's credentials or a hook
 * said no, `.Failed` when we could not decide (store or hook down).
 */
export function rtmpStatusCode(
  action: "publish" | "play",
  refusal: Refusal,
): string {
  const kind = action === "publish" ? "Publish" : "Play";
  return refusal.status === 503
    ? `NetStream.${kind}.Failed`
    : `NetStream.${kind}.Unauthorized`;
}

/**
 * Adapts an {@link AccessGate} to the RTMP server.
 *
 * @example
 * ```ts
 * import { AccessGate } from "./gate.ts";
 * import { createRtmpAccessControl } from "./rtmp.ts";
 * import { parseConfig } from "../../config/mod.ts";
 * import { silentLogger } from "../log.ts";
 * const o = parseConfig({ origin: { defaultApp: { publishKeys: ["k1"] } } }).origin;
 * const gate = new AccessGate({ ...o, sessionSeconds: 60 }, { log: silentLogger });
 * const access = createRtmpAccessControl(gate);
 * const d = await access.authorize({ action: "publish", app: "live", name: "x", params: {}, peer: "127.0.0.1:5" });
 * await gate.close();
 * if (d.allowed || d.code !== "NetStream.Publish.Unauthorized") throw new Error("expected a refusal");
 * ```
 */
export function createRtmpAccessControl(gate: AccessGate): RtmpAccessControl {
  return {
    async authorize(r: RtmpAccessRequest): Promise<RtmpAccessDecision> {
      const request: AccessRequest = {
        app: r.app,
        stream: r.name,
        params: r.params,
        ip: peerIp(r.peer),
        protocol: "rtmp",
      };
      const result = r.action === "publish"
        ? await gate.authorizePublish(request)
        : await gate.authorizePlay(request);
      if (!result.ok) {
        return {
          allowed: false,
          code: rtmpStatusCode(r.action, result),
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
    },
  };
}
