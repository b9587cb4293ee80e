/**
 * What WebRTC shows in `/metrics`: sessions open by kind (`whep` plays, `whip` publishes),
 * sessions ended by kind and outcome, video frames sent and received, and ICE UDP ports bound.
 *
 * @module
 */

import type { MetricsRegistry } from "../../metrics/mod.ts";
import { heldUdpPorts } from "./udp_ports.ts";

/** The kinds of session. */
export type WebrtcKind = "whep" | "whip";

/**
 * How a session ended (or why it never started): `ok` (DELETE, or the stream ended),
 * `refused` (4xx/5xx before an answer), `failed` (ICE/DTLS failure, consent lost, no RTCP),
 * `timeout` (never connected within `connectTimeoutMs`), `error` (bad media from the peer).
 */
export type WebrtcOutcome = "ok" | "refused" | "failed" | "timeout" | "error";

/** The counters a service updates. */
export interface WebrtcMetrics {
  ended(kind: WebrtcKind, outcome: WebrtcOutcome): void;
  frames(direction: "out" | "in", n: number): void;
}

/**
 * Registers the families; `open` is read at scrape time.
 */
export function createWebrtcMetrics(
  metrics: MetricsRegistry,
  open: () => Readonly<Record<WebrtcKind, number>>,
): WebrtcMetrics {
  metrics.collect(
    "meridian_origin_webrtc_sessions",
    "WebRTC sessions open, by kind (whep: playback, whip: ingest)",
    "gauge",
    function* () {
      const o = open();
      yield [{ kind: "whep" }, o.whep];
      yield [{ kind: "whip" }, o.whip];
    },
  );
  metrics.collect(
    "meridian_origin_webrtc_udp_ports",
    "UDP sockets of ICE candidates bound now from origin.webrtc.icePortMin..icePortMax",
    "gauge",
    function* () {
      yield [{}, heldUdpPorts()];
    },
  );
  const ended = metrics.counter(
    "meridian_origin_webrtc_sessions_total",
    "WebRTC offers answered or refused, by kind and outcome (ok, refused, failed, timeout, error)",
    { labelNames: ["kind", "outcome"] },
  );
  const frames = metrics.counter(
    "meridian_origin_webrtc_frames_total",
    "Video frames sent to WHEP viewers (out) and received from WHIP publishers (in)",
    { labelNames: ["direction"] },
  );
  return {
    ended: (kind, outcome) => ended.inc({ kind, outcome }),
    frames: (direction, n) => {
      if (n > 0) frames.inc({ direction }, n);
    },
  };
}
