/**
 * One stream packaged as low-latency HLS (RFC 8216bis): CMAF/fMP4 parts of about the part
 * target, segments of whole parts cut at the first keyframe past the segment target, a sliding
 * window, and the playlist of it all. Fed the hub's FLV tags in order; no timers, no I/O
 * (time is injected), so tests drive it with synthetic tags.
 *
 * Names are `ll_{epoch}_init.mp4`, `ll_{epoch}_{msn}.m4s` (a whole segment) and
 * `ll_{epoch}_{msn}_{part}.m4s`; the epoch is new for every publish and codec change, so a
 * name is never reused and edges may keep every file for a day.
 *
 * @module
 */

import {
  decodeVideoTagHeader,
  VideoFrameType,
  VideoPacketType,
} from "../../codec/flv/media_info.ts";
import { type FlvTag, FlvTagType } from "../../codec/flv/types.ts";
import {
  ADVANCE_PART_LIMIT,
  ADVANCE_SEGMENT_LIMIT,
  type LlMediaPlaylist,
  type LlPart,
  renderLlPlaylist,
} from "../../codec/hls/mod.ts";
import { FlvFragmenter } from "../../codec/mp4/mod.ts";

/** Complete segments kept downloadable after they leave the playlist (late fetches). */
const RETAINED_SEGMENTS = 2;

/** Options of {@link LlHlsStream}. */
export interface LlHlsStreamOptions {
  /** Segments end at the first keyframe this long (ms, less the tolerance) after their start. */
  readonly targetDurationMs: number;
  /** Fraction of the target by which a keyframe may come early and still end a segment. */
  readonly keyframeTolerance: number;
  /** Parts are at most this long (ms), unless one frame is longer. */
  readonly partTargetMs: number;
  /** Complete segments listed. */
  readonly windowSegments: number;
  /** First segment's media sequence number (a republish continues the numbering). */
  readonly firstMsn?: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE (a republish adds one). */
  readonly discontinuitySequence?: number;
  /** Start of file names, unique per publish. */
  readonly epoch: string;
  /** Wall clock (ms) for EXT-X-PROGRAM-DATE-TIME. @default Date.now */
  readonly now?: () => number;
  /** Told of every part made (after it is listed). */
  readonly onPart?: (part: MadePart) => void;
}

/** A part as the stream keeps it. */
export interface MadePart extends LlPart {
  readonly msn: number;
  readonly index: number;
  readonly bytes: Uint8Array;
}

interface Segment {
  readonly msn: number;
  parts: MadePart[];
  durationMs: number;
  programDateTimeMs: number;
  bytes: Uint8Array | undefined;
}

/** Where a stream is: the segment in progress and how many of its parts exist. */
export interface LlPosition {
  readonly msn: number;
  readonly parts: number;
}

/**
 * Packages one publish as LL-HLS.
 *
 * @example
 * ```ts
 * import { LlHlsStream } from "./stream.ts";
 * import assert from "node:assert/strict";
 * const s = new LlHlsStream({ targetDurationMs: 2000, keyframeTolerance: 0.1,
 *   partTargetMs: 500, windowSegments: 6, epoch: "e" });
 * s.onTag({ type: 8, timestampMs: 0, data: new Uint8Array([0xaf, 0, 0x12, 0x10]) }); // AAC config
 * for (let i = 0; i < 200; i++) {
 *   s.onTag({ type: 8, timestampMs: Math.round(i * 23.22), data: new Uint8Array([0xaf, 1, 0x21, i]) });
 * }
 * assert.ok(s.position.msn >= 2);
 * assert.match(s.playlist()!, /#EXT-X-PART:DURATION=0\.\d+,URI="ll_e_0_0\.m4s",INDEPENDENT=YES/);
 * ```
 */
export class LlHlsStream {
  readonly #o: LlHlsStreamOptions;
  readonly #now: () => number;
  readonly #fragmenter = new FlvFragmenter({ fragmentMs: Infinity });
  readonly #firstMsn: number;
  #init: Uint8Array | undefined;
  /** Complete segments, oldest first, listed ones last. */
  #done: Segment[] = [];
  #current: Segment;
  /** No more input (the publisher left): no parts, no preload hint. */
  #finished = false;
  /** EXT-X-ENDLIST. */
  #ended = false;
  #hasVideo = false;
  /** Changes with every part, segment or end: the key of {@link LlHlsStream.playlist}'s cache. */
  #version = 0;
  readonly #rendered = new Map<string, string>();
  /** Parts made by the tag being taken, told after it. */
  #made: MadePart[] = [];
  /** The longest segment so far, whole seconds: EXT-X-TARGETDURATION never decreases. */
  #targetSeconds: number;
  /** Set by a codec change: the stream must be restarted with a new epoch. */
  codecChanged = false;

  constructor(options: LlHlsStreamOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#firstMsn = options.firstMsn ?? 0;
    this.#current = this.#newSegment(this.#firstMsn);
    this.#targetSeconds = Math.max(
      1,
      Math.ceil(options.targetDurationMs / 1000),
    );
  }

  /** The epoch of this publish's file names. */
  get epoch(): string {
    return this.#o.epoch;
  }

  /** The segment in progress and its parts made so far. */
  get position(): LlPosition {
    return { msn: this.#current.msn, parts: this.#current.parts.length };
  }

  /** The next segment number after this stream (a republish continues there). */
  get nextMsn(): number {
    return this.#current.parts.length > 0
      ? this.#current.msn + 1
      : this.#current.msn;
  }

  /** The discontinuity sequence of this stream. */
  get discontinuitySequence(): number {
    return this.#o.discontinuitySequence ?? 0;
  }

  /** No more parts will come (the publisher left). */
  get finished(): boolean {
    return this.#finished;
  }

  /** The playlist says EXT-X-ENDLIST (RFC 8216 §4.3.3.4): the grace passed. */
  markEnded(): void {
    this.onEnd();
    this.#ended = true;
    this.#version++;
  }

  /** Takes one tag of the publish, in arrival order. */
  onTag(tag: FlvTag): void {
    this.#take(tag);
    this.#notify();
  }

  /** Tells `onPart` of the parts made, once the playlist lists them (a closed segment too). */
  #notify(): void {
    if (this.#made.length === 0) return;
    const made = this.#made;
    this.#made = [];
    for (const p of made) this.#o.onPart?.(p);
  }

  #take(tag: FlvTag): void {
    if (this.#finished || this.codecChanged) return;
    let keyframe = false;
    if (tag.type === FlvTagType.Video) {
      try {
        const h = decodeVideoTagHeader(tag.data);
        keyframe = h.frameType === VideoFrameType.Key &&
          (h.packetType === VideoPacketType.CodedFrames ||
            h.packetType === VideoPacketType.CodedFramesX);
        if (h.packetType === VideoPacketType.SequenceStart) {
          this.#hasVideo = true;
        }
      } catch {
        return; // the fragmenter skips it too
      }
    }
    const wasStarted = this.#fragmenter.started;
    // What a fragment the push cuts on its own holds, about (see below).
    const pendingMs = this.#fragmenter.readyMs + this.#fragmenter.sampleMs;
    const r = this.#fragmenter.push(tag);
    for (const b of r.bytes) {
      if (!this.#init) this.#init = b;
      else {
        // A forced cut (MAX_FRAGMENT_BYTES, far above a part) or the last fragment before a
        // codec change: rare, its duration estimated.
        this.#addPart(b, pendingMs, false);
      }
    }
    if (r.ended) {
      this.codecChanged = true;
      return;
    }
    if (!this.#fragmenter.started) return;
    if (!wasStarted) this.#current.programDateTimeMs = this.#now();
    const elapsedMs = this.#current.durationMs + this.#fragmenter.readyMs;
    const segmentDue = elapsedMs >=
      this.#o.targetDurationMs * (1 - this.#o.keyframeTolerance);
    // §4.4.4.9: a segment starts on an independent frame, so it ends right before a keyframe
    // (pushing the keyframe moved the frame before it into the ready samples). Audio-only
    // streams: every frame is independent.
    const cutsSegment = segmentDue &&
      (this.#hasVideo ? keyframe : tag.type === FlvTagType.Audio);
    if (cutsSegment) {
      this.#cutPart();
      this.#closeSegment();
      return;
    }
    // A part ends before the sample that would take it past the part target.
    if (
      this.#fragmenter.readyMs + this.#fragmenter.sampleMs >
        this.#o.partTargetMs
    ) this.#cutPart();
  }

  /**
   * The publisher left: the last part and segment are closed. The playlist stays live (a
   * republish may follow) until {@link LlHlsStream.markEnded}.
   */
  onEnd(): void {
    if (this.#finished) return;
    if (!this.codecChanged) {
      const last = this.#fragmenter.finish();
      if (last) this.#addPart(last.bytes, last.durationMs, last.independent);
    }
    this.#closeSegment();
    this.#finished = true;
    this.#version++;
    this.#notify();
  }

  /** True when the playlist lists part `part` of segment `msn`, or anything after it. */
  has(msn: number, part: number | undefined): boolean {
    const cur = this.#current;
    if (msn < cur.msn) return true;
    if (msn > cur.msn) return false;
    // Without a part: the whole segment (§6.2.5.2).
    if (part === undefined) return false;
    return part < cur.parts.length;
  }

  /**
   * True when a blocking request for `msn`/`part` asks too far ahead to be held (§6.2.5.2):
   * more than {@link ADVANCE_SEGMENT_LIMIT} segments past the one in progress, more than
   * {@link ADVANCE_PART_LIMIT} parts past the last one of the segment in progress, or a part
   * index no later segment can reach.
   */
  tooFar(msn: number, part: number | undefined): boolean {
    const cur = this.#current;
    if (msn > cur.msn + ADVANCE_SEGMENT_LIMIT) return true;
    if (part === undefined || msn < cur.msn) return false;
    if (msn === cur.msn) return part > cur.parts.length + ADVANCE_PART_LIMIT;
    return part > ADVANCE_PART_LIMIT + this.#partsPerSegment();
  }

  /** Parts of a segment of the target duration (one more for the short last part). */
  #partsPerSegment(): number {
    return Math.ceil(this.#o.targetDurationMs / this.#o.partTargetMs) + 1;
  }

  /**
   * The playlist, or `undefined` before the first part. Rendered once per change and kept:
   * every request held for a part is answered at the same moment with the same text.
   */
  playlist(skip = false): string | undefined {
    const key = `${this.#version}:${skip}`;
    const hit = this.#rendered.get(key);
    if (hit !== undefined) return hit;
    const p = this.#playlistValue();
    if (!p) return undefined;
    const text = renderLlPlaylist(p, { skip });
    if (this.#rendered.size >= 2) this.#rendered.clear();
    this.#rendered.set(key, text);
    return text;
  }

  /** The bytes of one of this stream's files, if it exists now. */
  file(name: string): Uint8Array | undefined {
    const ref = parseFileName(name);
    if (!ref || ref.epoch !== this.#o.epoch) return undefined;
    if (ref.kind === "init") return this.#init;
    const seg = ref.msn === this.#current.msn
      ? this.#current
      : this.#done.find((s) => s.msn === ref.msn);
    if (!seg) return undefined;
    if (ref.kind === "segment") return seg.bytes;
    return seg.parts[ref.part]?.bytes;
  }

  /**
   * True when the part `name` names does not exist yet but may come soon (a preload hint, or
   * a client a little ahead): a request for it may wait.
   */
  expects(name: string): { msn: number; part: number } | undefined {
    if (this.#finished) return undefined;
    const ref = parseFileName(name);
    if (!ref || ref.epoch !== this.#o.epoch || ref.kind !== "part") {
      return undefined;
    }
    if (this.has(ref.msn, ref.part) || this.tooFar(ref.msn, ref.part)) {
      return undefined;
    }
    if (ref.msn < this.#current.msn) return undefined;
    return { msn: ref.msn, part: ref.part };
  }

  #newSegment(msn: number): Segment {
    return {
      msn,
      parts: [],
      durationMs: 0,
      programDateTimeMs: Number.NaN,
      bytes: undefined,
    };
  }

  #cutPart(): void {
    const cut = this.#fragmenter.cutNow();
    if (cut) this.#addPart(cut.bytes, cut.durationMs, cut.independent);
  }

  #addPart(bytes: Uint8Array, durationMs: number, independent: boolean): void {
    const seg = this.#current;
    if (seg.parts.length === 0 && Number.isNaN(seg.programDateTimeMs)) {
      seg.programDateTimeMs = this.#now();
    }
    const index = seg.parts.length;
    const part: MadePart = {
      msn: seg.msn,
      index,
      uri: partName(this.#o.epoch, seg.msn, index),
      durationSeconds: durationMs / 1000,
      independent,
      bytes,
    };
    seg.parts.push(part);
    seg.durationMs += durationMs;
    this.#version++;
    this.#made.push(part);
  }

  #closeSegment(): void {
    const seg = this.#current;
    if (seg.parts.length === 0) return;
    let n = 0;
    for (const p of seg.parts) n += p.bytes.byteLength;
    const bytes = new Uint8Array(n);
    n = 0;
    // The parts become views of the segment's bytes: each byte is kept once.
    seg.parts = seg.parts.map((p) => {
      bytes.set(p.bytes, n);
      const view = bytes.subarray(n, n + p.bytes.byteLength);
      n += p.bytes.byteLength;
      return { ...p, bytes: view };
    });
    seg.bytes = bytes;
    // §6.2.1: EXT-X-TARGETDURATION must not change; it starts at the configured target and
    // only a GOP longer than it (an encoder that ignores it) raises it, once.
    this.#targetSeconds = Math.max(
      this.#targetSeconds,
      Math.round(seg.durationMs / 1000),
    );
    this.#done.push(seg);
    this.#version++;
    const keep = this.#o.windowSegments + RETAINED_SEGMENTS;
    if (this.#done.length > keep) {
      this.#done.splice(0, this.#done.length - keep);
    }
    const next = this.#newSegment(seg.msn + 1);
    // The keyframe that ended the segment is the first sample of the next one.
    next.programDateTimeMs = this.#now();
    this.#current = next;
  }

  #playlistValue(): LlMediaPlaylist | undefined {
    if (!this.#init) return undefined;
    const listed = this.#done.slice(-this.#o.windowSegments);
    if (listed.length === 0 && this.#current.parts.length === 0) {
      return undefined;
    }
    const cur = this.#current;
    return {
      targetDurationSeconds: this.#targetSeconds,
      partTargetSeconds: this.#o.partTargetMs / 1000,
      mediaSequence: listed[0]?.msn ?? cur.msn,
      discontinuitySequence: this.discontinuitySequence,
      mapUri: `ll_${this.#o.epoch}_init.mp4`,
      segments: listed.map((s) => ({
        uri: segmentName(this.#o.epoch, s.msn),
        durationSeconds: s.durationMs / 1000,
        parts: s.parts,
        programDateTimeMs: s.programDateTimeMs,
      })),
      partial: this.#finished ? [] : cur.parts,
      partialProgramDateTimeMs: cur.programDateTimeMs,
      preloadHintUri: this.#finished
        ? undefined
        : partName(this.#o.epoch, cur.msn, cur.parts.length),
      ended: this.#ended,
    };
  }
}

/** A part's file name. */
export function partName(epoch: string, msn: number, part: number): string {
  return `ll_${epoch}_${msn}_${part}.m4s`;
}

/** A whole segment's file name. */
export function segmentName(epoch: string, msn: number): string {
  return `ll_${epoch}_${msn}.m4s`;
}

/** What an LL-HLS file name names. */
export type LlFileRef =
  | { readonly kind: "init"; readonly epoch: string }
  | { readonly kind: "segment"; readonly epoch: string; readonly msn: number }
  | {
    readonly kind: "part";
    readonly epoch: string;
    readonly msn: number;
    readonly part: number;
  };

const FILE_RE =
  /^ll_([a-z0-9]{1,16})_(?:(init)\.mp4|(\d{1,15})(?:_(\d{1,6}))?\.m4s)$/;

/**
 * Reads an LL-HLS file name (`ll_{epoch}_init.mp4`, `ll_{epoch}_{msn}.m4s`,
 * `ll_{epoch}_{msn}_{part}.m4s`).
 *
 * @example
 * ```ts
 * import { parseFileName } from "./stream.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseFileName("ll_k3_12_4.m4s"), { kind: "part", epoch: "k3", msn: 12, part: 4 });
 * assert.equal(parseFileName("ll_k3_x.m4s"), undefined);
 * ```
 */
export function parseFileName(name: string): LlFileRef | undefined {
  const m = FILE_RE.exec(name);
  if (!m) return undefined;
  const epoch = m[1]!;
  if (m[2]) return { kind: "init", epoch };
  const msn = Number(m[3]);
  if (m[4] === undefined) return { kind: "segment", epoch, msn };
  return { kind: "part", epoch, msn, part: Number(m[4]) };
}
