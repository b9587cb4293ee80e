/**
 * MPEG-TS (ISO/IEC 13818-1) for HLS: a muxer for one H.264 video and one audio elementary
 * stream with PAT/PMT, PCR and continuity counters that survive segment boundaries, plus a
 * small demuxer/validator for tests.
 *
 * Written in-house because the TS muxer is the HLS packager's hot path and the npm
 * ecosystem has TS demuxers for browsers (hls.js, mpegts.js) but no small, pure muxer; the
 * format subset HLS needs is a few hundred lines.
 *
 * @example
 * ```ts
 * import { StreamType, TsDemuxer, TsMuxer } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const mux = new TsMuxer({ videoStreamType: StreamType.H264 });
 * const seg = new Uint8Array([
 *   ...mux.writePsi(),
 *   ...mux.writeVideo({ dtsTicks: 0, ptsTicks: 3600, keyframe: true, data: new Uint8Array(1000) }),
 * ]);
 * const r = new TsDemuxer().demux(seg);
 * assert.equal(r.pmt?.streams[0]?.streamType, StreamType.H264);
 * assert.equal(r.pes[0]?.randomAccess, true);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./constants.ts";
export * from "./crc32.ts";
export * from "./psi.ts";
export * from "./pes.ts";
export * from "./muxer.ts";
export * from "./demuxer.ts";
export * from "./stream_demuxer.ts";
export * from "./es_reader.ts";
export * from "./live_writer.ts";
export * from "./samples.ts";
export * from "./cut.ts";
