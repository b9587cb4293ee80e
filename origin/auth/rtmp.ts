/**
 * The gate as the RTMP server's access control: refusals become `onStatus` codes, grants
 * become sessions that end with on_stop / on_unpublish and close on revocation.
 *
 * @module
 */

import type {
  RtmpAccessControl,
  RtmpAccessDecision,
  RtmpAccessRequest,
} from "../rtmp/server.ts";
import type { AccessGate, AccessRequest, Refusal } from "./gate.ts";

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
