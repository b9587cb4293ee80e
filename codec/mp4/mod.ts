/**
 * MP4 / ISO BMFF: reading `moov` and `moof` into a sample index, writing a progressive MP4
 * for a range of samples (the VOD seek path, clips, a finished recording), and writing a
 * fragmented MP4 from live FLV tags (recordings while they are made).
 *
 * Why our own rather than mp4box.js: the seek path rebuilds the sample tables of a time range
 * and writes a new `moov` in front of the file's own bytes (nginx's mp4 module does the same in
 * C). mp4box.js keeps one JS object per sample (hundreds of thousands for an hour of video) and
 * writes boxes from its object model, not trimmed tables; we need a compact typed-array index
 * that is built once per file and cached, then sliced per request in microseconds. Only the
 * dozen boxes that matter are read; everything else is skipped by size.
 *
 * @module
 */

export * from "./errors.ts";
export * from "./box.ts";
export * from "./movie.ts";
export * from "./fragments.ts";
export * from "./write.ts";
export * from "./sample_entry.ts";
export * from "./fragment_write.ts";
export * from "./flv_fragmenter.ts";
