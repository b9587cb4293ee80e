/**
 * The WebRTC machinery (ICE, DTLS, SRTP, RTCP feedback) is werift's, a maintained pure
 * TypeScript implementation (npm `werift`): we never hand-write DTLS or SRTP. This module is
 * the only one that touches it. It is loaded on the first offer (a dynamic import), so an
 * origin that never serves WebRTC never pays for it in memory or start time.
 *
 * One {@link WebrtcPeer} is one answered offer: a peer connection with a single H.264 video
 * transceiver (the offer's payload type and parameters, NACK and PLI feedback), audio
 * refused, host candidates only, all gathered before the answer (no trickle, RFC 9725 §4.3).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type * as Werift from "werift";
import type { H264Choice } from "./offer.ts";
import { guardUdpPortRange } from "./udp_ports.ts";

type WeriftModule = typeof Werift;

let loading: Promise<WeriftModule> | undefined;

/** Loads werift once; later calls share the same promise. */
export function loadWerift(): Promise<WeriftModule> {
  loading ??= import("werift").then((w) => {
    guardUdpPortRange(w.UdpTransport);
    return w;
  });
  return loading;
}

/** True once werift was loaded (for tests of the lazy load). */
export function weriftLoaded(): boolean {
  return loading !== undefined;
}

/** ICE options (`origin.webrtc.*`). */
export interface PeerIceOptions {
  /** Host candidate addresses added to the host's own interface addresses. */
  readonly iceAddresses: readonly string[];
  /** UDP ports of the candidates: one per session from this range. */
  readonly icePortMin: number;
  readonly icePortMax: number;
  /** Gathering must complete within this (ms), or the offer fails with 503. */
  readonly gatherTimeoutMs: number;
}

/** What a session hears from its peer. */
export interface PeerEvents {
  /** `connected`, `disconnected`, `failed`, `closed` (RTCPeerConnectionState). */
  onState(state: string): void;
  /** An RTCP packet from the peer (receiver reports: it is alive). */
  onRtcp(): void;
  /** An RTP packet of the video track (WHIP), serialized. */
  onRtp(bytes: Uint8Array): void;
}

/** The direction we take: WHEP sends video, WHIP receives it. */
export type PeerRole = "send" | "receive";

/** A peer connection answering one offer. */
export interface WebrtcPeer {
  /** The answer SDP, with every candidate. */
  readonly answer: string;
  /** Sends one RTP packet on the video track (WHEP); dropped before the connection is up. */
  sendRtp(bytes: Uint8Array): void;
  /** True when the answer has an Opus audio track (WHEP of an AAC stream, Opus offered). */
  readonly sendsAudio: boolean;
  /** Sends one Opus RTP packet on the audio track. */
  sendAudioRtp(bytes: Uint8Array): void;
  /** Asks the publisher for a keyframe (RTCP PLI, RFC 4585 §6.3.1) (WHIP). */
  requestKeyframe(): void;
  close(): Promise<void>;
}

/** Thrown when an offer cannot be answered by the WebRTC stack (its text is kept). */
export class PeerSetupError extends Error {
  override name = "PeerSetupError";
}

/**
 * Answers `offer`: creates the peer connection, sets the offer, answers with one H.264
 * video track and waits for ICE gathering to complete.
 *
 * @throws {PeerSetupError} When werift refuses the offer or gathering does not complete.
 */
export async function answerOffer(
  offer: string,
  h264: H264Choice,
  /** WHEP with Opus audio: the offer's Opus payload type; undefined: video only. */
  opus: { readonly payloadType: number; readonly fmtp: string } | undefined,
  role: PeerRole,
  ice: PeerIceOptions,
  events: PeerEvents,
): Promise<WebrtcPeer> {
  const w = await loadWerift();
  const codec = new w.RTCRtpCodecParameters({
    mimeType: "video/H264",
    clockRate: 90_000,
    payloadType: h264.payloadType,
    parameters: h264.fmtp,
    rtcpFeedback: [
      { type: "nack" },
      { type: "nack", parameter: "pli" },
    ],
  });
  const audioCodecs = opus && role === "send"
    ? [
      new w.RTCRtpCodecParameters({
        mimeType: "audio/opus",
        clockRate: 48_000,
        channels: 2,
        payloadType: opus.payloadType,
        parameters: opus.fmtp,
      }),
    ]
    : [];
  const pc = new w.RTCPeerConnection({
    codecs: { video: [codec], audio: audioCodecs },
    iceAdditionalHostAddresses: [...ice.iceAddresses],
    iceUseIpv4: true,
    iceUseIpv6: false,
    iceUseTcp: false,
    iceTcpPassive: false,
    icePortRange: [ice.icePortMin, ice.icePortMax],
  });
  const subscriptions: { unSubscribe(): void }[] = [];
  let closed = false;
  /** The publisher's video SSRC (WHIP), the target of keyframe requests. */
  let remoteSsrc: number | undefined;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const s of subscriptions) s.unSubscribe();
    try {
      await pc.close();
    } catch {
      // Closing a half-set-up connection may throw; it is closed either way.
    }
  };
  try {
    subscriptions.push(
      pc.connectionStateChange.subscribe((s) => events.onState(s)),
    );
    if (role === "receive") {
      // The remote track exists once the offer is set: subscribe before setting it.
      subscriptions.push(
        pc.onTrack.subscribe((t) => {
          if (t.kind !== "video") return;
          remoteSsrc = t.ssrc;
          subscriptions.push(
            t.onReceiveRtp.subscribe((rtp) => events.onRtp(rtp.serialize())),
          );
        }),
      );
    }
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    const video = pc.getTransceivers().find((t) => t.kind === "video");
    if (!video) throw new PeerSetupError("the offer's video was not accepted");
    let track: Werift.MediaStreamTrack | undefined;
    if (role === "send") {
      track = new w.MediaStreamTrack({ kind: "video" });
      await video.sender.replaceTrack(track);
      video.setDirection("sendonly");
      subscriptions.push(video.sender.onRtcp.subscribe(() => events.onRtcp()));
    } else {
      video.setDirection("recvonly");
      subscriptions.push(
        video.receiver.onRtcp.subscribe(() => events.onRtcp()),
      );
    }
    let audioTrack: Werift.MediaStreamTrack | undefined;
    const audio = audioCodecs.length > 0
      ? pc.getTransceivers().find((t) => t.kind === "audio")
      : undefined;
    if (audio) {
      audioTrack = new w.MediaStreamTrack({ kind: "audio" });
      await audio.sender.replaceTrack(audioTrack);
      audio.setDirection("sendonly");
    }
    for (const t of pc.getTransceivers()) {
      if (t !== video && t !== audio) t.setDirection("inactive");
    }
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc, ice.gatherTimeoutMs);
    const answer = pc.localDescription?.sdp;
    if (!answer) throw new PeerSetupError("no local description");
    return {
      answer,
      sendRtp(bytes) {
        if (closed || !track) return;
        track.writeRtp(
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        );
      },
      get sendsAudio() {
        return audioTrack !== undefined;
      },
      sendAudioRtp(bytes) {
        if (closed || !audioTrack) return;
        audioTrack.writeRtp(
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        );
      },
      requestKeyframe() {
        if (closed || remoteSsrc === undefined) return;
        void video.receiver.sendRtcpPLI(remoteSsrc).catch(() => {});
      },
      close,
    };
  } catch (err) {
    await close();
    if (err instanceof PeerSetupError) throw err;
    throw new PeerSetupError(
      `Cannot answer the offer: ${err instanceof Error ? err.message : err}`,
      { cause: err },
    );
  }
}

function gathered(
  pc: Werift.RTCPeerConnection,
  timeoutMs: number,
): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unSubscribe();
      reject(
        new PeerSetupError(
          `ICE gathering did not complete within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s !== "complete") return;
      clearTimeout(timer);
      sub.unSubscribe();
      resolve();
    });
    if (pc.iceGatheringState === "complete") {
      clearTimeout(timer);
      sub.unSubscribe();
      resolve();
    }
  });
}
