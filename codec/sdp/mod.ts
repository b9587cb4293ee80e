/**
 * SDP (RFC 8866 / RFC 4566) for RTSP: parsing and writing descriptions, and the per-track
 * parameters of the codecs Meridian carries (H.264, H.265, AAC, G.711, MPEG audio).
 *
 * Written in-house: the npm SDP packages (sdp-transform and kin) are WebRTC-shaped and know
 * nothing of RTSP's controls or RFC 3640's AU-header parameters; what RTSP needs is small.
 *
 * @example
 * ```ts
 * import { describeTracks, parseSdp } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const t = describeTracks(parseSdp("v=0\r\nm=audio 0 RTP/AVP 0\r\n")).tracks[0];
 * assert.equal(t?.codec, "pcmu");
 * ```
 *
 * @module
 */

export * from "./sdp.ts";
export * from "./tracks.ts";
