/**
 * A WebRTC client for tests and benches: werift (the same library the origin uses, here on the
 * other side) as a WHEP player that counts the access units it receives, and as a WHIP
 * publisher that sends RTP it is given. Chromium is the real player of the integration tests;
 * this one runs in-process, so a bench can time a frame from RTMP in to RTP out.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
} from "werift";

const H264 = () =>
  new RTCRtpCodecParameters({
    mimeType: "video/H264",
    clockRate: 90_000,
    rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
    parameters:
      "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  });

async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return;
  await new Promise<void>((resolve) => {
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s === "complete") {
        sub.unSubscribe();
        resolve();
      }
    });
  });
}

/** What a WHEP/WHIP POST answered. */
export interface WebrtcPost {
  readonly status: number;
  readonly location: string | null;
  readonly note: string | null;
  readonly body: string;
}

async function post(
  url: string,
  sdp: string,
  headers: Record<string, string> = {},
): Promise<WebrtcPost> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...headers },
    body: sdp,
  });
  return {
    status: res.status,
    location: res.headers.get("location"),
    note: res.headers.get("x-meridian-note"),
    body: await res.text(),
  };
}

/** A WHEP player: counts access units (RTP markers) and calls `onFrame` with each's arrival. */
export interface WhepPlayer {
  readonly answer: WebrtcPost;
  /** Access units received (a marker bit ends each). */
  frames(): number;
  /** Resolves when the connection is up. */
  connected(): Promise<void>;
  close(): Promise<void>;
}

/** Plays `url` (`…/{app}/{stream}/whep`); throws when the POST is not 201. */
export async function whepPlay(
  url: string,
  onPacket?: (payload: Uint8Array, marker: boolean, timestamp: number) => void,
): Promise<WhepPlayer> {
  const pc = new RTCPeerConnection({
    codecs: { video: [H264()], audio: [] },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
  });
  pc.addTransceiver("video", { direction: "recvonly" });
  let frames = 0;
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      if (rtp.header.marker) frames++;
      onPacket?.(rtp.payload, rtp.header.marker, rtp.header.timestamp);
    });
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const answer = await post(url, pc.localDescription!.sdp);
  if (answer.status !== 201) {
    await pc.close();
    throw new Error(`WHEP POST ${url}: ${answer.status} ${answer.body}`);
  }
  await pc.setRemoteDescription({ type: "answer", sdp: answer.body });
  const up = new Promise<void>((resolve, reject) => {
    if (pc.connectionState === "connected") resolve();
    pc.connectionStateChange.subscribe((s) => {
      if (s === "connected") resolve();
      if (s === "failed") reject(new Error("WHEP connection failed"));
    });
  });
  return {
    answer,
    frames: () => frames,
    connected: () => up,
    async close() {
      await pc.close();
    },
  };
}

/** A WHIP publisher: `sendRtp` writes H.264 RTP (any SSRC and payload type; rewritten). */
export interface WhipPublisher {
  readonly answer: WebrtcPost;
  connected(): Promise<void>;
  sendRtp(packet: Uint8Array): void;
  /** PLIs the origin sent (keyframe requests). */
  keyframeRequests(): number;
  close(): Promise<void>;
}

/** Publishes to `url` (`…/{app}/{stream}/whip`) with `key` as the bearer token. */
export async function whipPublish(
  url: string,
  key?: string,
): Promise<WhipPublisher> {
  const pc = new RTCPeerConnection({
    codecs: { video: [H264()], audio: [] },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
  });
  const track = new MediaStreamTrack({ kind: "video" });
  const t = pc.addTransceiver(track, { direction: "sendonly" });
  let plis = 0;
  t.sender.onRtcp.subscribe((p) => {
    if (p.type === 206) plis++;
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const answer = await post(
    url,
    pc.localDescription!.sdp,
    key ? { Authorization: `Bearer ${key}` } : {},
  );
  if (answer.status !== 201) {
    await pc.close();
    throw new Error(`WHIP POST ${url}: ${answer.status} ${answer.body}`);
  }
  await pc.setRemoteDescription({ type: "answer", sdp: answer.body });
  const up = new Promise<void>((resolve, reject) => {
    if (pc.connectionState === "connected") resolve();
    pc.connectionStateChange.subscribe((s) => {
      if (s === "connected") resolve();
      if (s === "failed") reject(new Error("WHIP connection failed"));
    });
  });
  return {
    answer,
    connected: () => up,
    sendRtp(packet) {
      track.writeRtp(
        Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength),
      );
    },
    keyframeRequests: () => plis,
    async close() {
      await pc.close();
    },
  };
}
