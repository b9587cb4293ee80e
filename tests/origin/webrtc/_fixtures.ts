/**
 * Fixtures of the WebRTC tests: Chromium's receive-only video offer (as its RTCPeerConnection
 * writes it, trimmed of header extensions), variants without H.264, and large H.264 frames.
 *
 * @module
 */

import type { FlvTag } from "../../../codec/flv/mod.ts";

const SESSION = [
  "v=0",
  "o=- 4215775240449105457 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS",
];

const ICE = [
  "c=IN IP4 127.0.0.1",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host generation 0",
  "a=ice-ufrag:H0lf",
  "a=ice-pwd:DyVr9I1Dx1scWl4TWCvtfPM9",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 33:C5:5D:33:ED:9D:D0:E9:C3:6A:04:E5:6F:73:50:69:01:BC:42:B8:01:33:3C:2D:C3:31:B8:7B:71:71:97:86",
  "a=setup:actpass",
  "a=mid:0",
];

function h264(pt: number, mode: number, profile: string): string[] {
  return [
    `a=rtpmap:${pt} H264/90000`,
    `a=rtcp-fb:${pt} goog-remb`,
    `a=rtcp-fb:${pt} nack`,
    `a=rtcp-fb:${pt} nack pli`,
    `a=fmtp:${pt} level-asymmetry-allowed=1;packetization-mode=${mode};profile-level-id=${profile}`,
    `a=rtpmap:${pt + 1} rtx/90000`,
    `a=fmtp:${pt + 1} apt=${pt}`,
  ];
}

/** Chromium 1xx's receive-only video offer: VP8, VP9, H.264 (four profiles, both modes), AV1. */
export function chromiumOffer(direction = "recvonly"): string {
  return [
    ...SESSION,
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 102 103 104 105 106 107 108 109 45 46",
    ...ICE,
    `a=${direction}`,
    "a=rtcp-mux",
    "a=rtcp-rsize",
    "a=rtpmap:96 VP8/90000",
    "a=rtcp-fb:96 nack",
    "a=rtpmap:97 rtx/90000",
    "a=fmtp:97 apt=96",
    "a=rtpmap:98 VP9/90000",
    "a=fmtp:98 profile-id=0",
    "a=rtpmap:99 rtx/90000",
    "a=fmtp:99 apt=98",
    ...h264(100, 1, "42001f"),
    ...h264(102, 0, "42001f"),
    ...h264(104, 1, "42e01f"),
    ...h264(106, 0, "42e01f"),
    ...h264(108, 1, "4d001f"),
    "a=rtpmap:45 AV1/90000",
    "a=rtpmap:46 rtx/90000",
    "a=fmtp:46 apt=45",
    "",
  ].join("\r\n");
}

/** Chromium's offer with a receive-only audio section too (Opus, and G.711 after it). */
export function chromiumOfferWithAudio(): string {
  return chromiumOffer().replace("a=group:BUNDLE 0", "a=group:BUNDLE 0 1") + [
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8",
    ...ICE.map((l) => (l === "a=mid:0" ? "a=mid:1" : l)),
    "a=recvonly",
    "a=rtcp-mux",
    "a=rtpmap:111 opus/48000/2",
    "a=fmtp:111 minptime=10;useinbandfec=1",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "",
  ].join("\r\n");
}

/** A receive-only offer of VP8 and VP9 only (Firefox with H.264 off). */
export function vp8Offer(): string {
  return [
    ...SESSION,
    "m=video 9 UDP/TLS/RTP/SAVPF 120 121",
    ...ICE,
    "a=recvonly",
    "a=rtcp-mux",
    "a=rtpmap:120 VP8/90000",
    "a=rtpmap:121 VP9/90000",
    "",
  ].join("\r\n");
}

/** H.264, but packetization-mode 0 only. */
export function mode0Offer(): string {
  return [
    ...SESSION,
    "m=video 9 UDP/TLS/RTP/SAVPF 102",
    ...ICE,
    "a=recvonly",
    ...h264(102, 0, "42e01f").slice(0, 5),
    "",
  ].join("\r\n");
}

/** An audio-only offer (Opus). */
export function audioOnlyOffer(): string {
  return [
    ...SESSION,
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    ...ICE,
    "a=recvonly",
    "a=rtpmap:111 opus/48000/2",
    "",
  ].join("\r\n");
}

/** A frame of one NAL unit of `size` bytes (an IDR when `key`). */
export function bigFrame(ts: number, key: boolean, size: number): FlvTag {
  const nalu = new Uint8Array(size).fill(0xab);
  nalu[0] = key ? 0x65 : 0x41;
  const data = new Uint8Array(9 + size);
  data.set([key ? 0x17 : 0x27, 1, 0, 0, 0], 0);
  new DataView(data.buffer).setUint32(5, size);
  data.set(nalu, 9);
  return { type: 9 as const, timestampMs: ts, data };
}
