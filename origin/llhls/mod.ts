/**
 * Low-latency HLS (RFC 8216bis) per app: fMP4 parts, blocking playlist reload, delta updates
 * and preload hints, beside the regular HLS of `origin/hls/` (which keeps its own MPEG-TS
 * segments and URLs). Fed from the same live hub as every other output.
 *
 * @module
 */

export * from "./stream.ts";
export * from "./packagers.ts";
export * from "./routes.ts";
