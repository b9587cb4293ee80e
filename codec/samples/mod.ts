/**
 * A container-neutral index of a media file's samples: what the VOD outputs (progressive MP4
 * and FLV, HLS segments, RTMP play, virtual live) read, whichever container the file is.
 *
 * MP4 sample tables and FLV tags both reduce to the same thing: per track, each coded frame's
 * file offset and size, decoding time, duration, composition offset and whether it is a sync
 * sample, plus the codec's configuration record. Kept as typed arrays (25 bytes a sample): a
 * one-hour file of 30 fps video and AAC audio (~277,000 samples) indexes into ~7 MB, which is
 * why we do not hold one JS object per sample as general MP4 libraries do.
 *
 * @module
 */

export * from "./types.ts";
export * from "./table.ts";
