/**
 * RTSP (RFC 2326 1.0, with RFC 7826 2.0's readings where they agree): messages and interleaved
 * RTP in one TCP stream, header values (Transport, Session, RTP-Info) and authentication
 * (Basic, Digest MD5). Pure, with every size bounded.
 *
 * Written in-house because npm's RTSP packages are clients bound to Node sockets and ffmpeg
 * processes; the server needs an I/O-free reader it can feed from any socket, and typed errors.
 *
 * @example
 * ```ts
 * import { RtspReader, parseTransport } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const [item] = new RtspReader().push(new TextEncoder().encode(
 *   "SETUP rtsp://h/live/a/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"));
 * assert.ok(item?.kind === "request");
 * assert.deepEqual(parseTransport(item.message.headers[1]![1])[0]?.interleaved, [0, 1]);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./message.ts";
export * from "./headers.ts";
export * from "./auth.ts";
export { md5Hex } from "./md5.ts";
