/**
 * RTP and RTCP (RFC 3550) with the payload formats Meridian carries over RTSP: H.264
 * (RFC 6184), H.265 (RFC 7798), AAC (RFC 3640 AAC-hbr), MPEG audio (RFC 2250); G.711
 * (RFC 3551) is its samples as they are. Depacketizers assemble access units from packets,
 * packetizers split them again. Pure.
 *
 * Written in-house: the npm RTP packages are WebRTC stacks' internals (werift) or unmaintained,
 * and ingest needs typed errors and named limits on every length a packet carries.
 *
 * @example
 * ```ts
 * import { decodeRtp, encodeRtp, packetizeH264 } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const [p] = packetizeH264([new Uint8Array([0x65, 1])]);
 * const packet = decodeRtp(encodeRtp({ marker: p!.marker, payloadType: 96, sequence: 1, timestamp: 0, ssrc: 9, payload: p!.payload }));
 * assert.equal(packet.marker, true);
 * ```
 *
 * @module
 */

export * from "./packet.ts";
export * from "./h264.ts";
export * from "./h265.ts";
export * from "./aac.ts";
export * from "./rtcp.ts";
