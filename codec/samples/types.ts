/**
 * Types of the sample index.
 *
 * @module
 */

/** Codecs the VOD outputs carry. */
export type SampleCodec = "h264" | "hevc" | "aac" | "mp3";

/** One track's samples, in decoding order. Times are in the track's ticks. */
export interface SampleTable {
  readonly count: number;
  /** File offset of each sample's coded bytes (Float64: files past 4 GiB). */
  readonly offset: Float64Array;
  readonly size: Uint32Array;
  /** Decoding time, ticks from the track's start. */
  readonly dts: Float64Array;
  readonly duration: Uint32Array;
  /** Composition offset (PTS - DTS), ticks; may be negative. */
  readonly cts: Int32Array;
  /** 1 for a sync sample (keyframe); `undefined` when every sample is one (audio). */
  readonly sync: Uint8Array | undefined;
}

/** One audio or video track of a file. */
export interface TrackIndex {
  readonly kind: "video" | "audio";
  readonly codec: SampleCodec;
  /** Ticks per second. */
  readonly timescale: number;
  /**
   * The codec's configuration record: AVCDecoderConfigurationRecord, HEVCDecoderConfigurationRecord
   * or AudioSpecificConfig; none for MP3.
   */
  readonly config: Uint8Array | undefined;
  /** An MP4 source's sample entry box (inside `stsd`) as found: copied into MP4 outputs. */
  readonly sampleEntry: Uint8Array | undefined;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly sampleRate?: number | undefined;
  readonly channels?: number | undefined;
  /**
   * Where presentation starts in the media timeline (an MP4 edit list's `media_time`), ticks:
   * a presentation time `p` of a sample is `dts + cts - mediaTime`.
   */
  readonly mediaTime: number;
  readonly samples: SampleTable;
}

/** The media of one file, as the VOD outputs see it. */
export interface MediaIndex {
  readonly container: "mp4" | "flv";
  /** The file's size, bytes. */
  readonly fileSize: number;
  /** Presented duration, milliseconds (the longest track). */
  readonly durationMs: number;
  readonly tracks: readonly TrackIndex[];
}
