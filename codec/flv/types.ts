/**
 * FLV tag types shared by every codec and server. An RTMP audio/video/data message payload is
 * exactly an FLV tag body, so the whole pipeline (RTMP ingest, HTTP-FLV, RTMP play, HLS
 * segmenter) moves `FlvTag`s.
 *
 * @module
 */

/** FLV tag types (FLV spec v10 §E.4.1); equal to the RTMP message type ids. */
export const FlvTagType = { Audio: 8, Video: 9, Script: 18 } as const;
export type FlvTagTypeValue = (typeof FlvTagType)[keyof typeof FlvTagType];

/** One FLV tag: type, 32-bit millisecond timestamp and the tag body (no 11-byte header). */
export interface FlvTag {
  readonly type: FlvTagTypeValue;
  readonly timestampMs: number;
  readonly data: Uint8Array;
}
