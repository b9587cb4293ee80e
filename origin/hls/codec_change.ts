/**
 * A change of codec parameters inside one publish, told to a tag listener as the end of one
 * encoding and the start of the next.
 *
 * RFC 8216 §4.3.2.3 asks for EXT-X-DISCONTINUITY before a segment whose encoding parameters
 * differ from the one before (a new resolution, a new sample rate). A publisher announces such
 * a change with a new sequence header (a virtual-live channel does at the file where it
 * happens; an encoder may mid-stream). The HLS packager marks a discontinuity when a publish
 * ends and the next begins, so this adapter turns a sequence header whose bytes differ from
 * the last one of its kind into `onEnd()` followed by the stream's configuration again: the
 * segment in progress closes where the old parameters end, the next one opens flagged, with the
 * new parameters and the unchanged ones of the other track. A repeated identical sequence
 * header (OBS re-sends them) changes nothing.
 *
 * The packager (`packagers.ts`) wraps its stream with it: the packager already has the
 * one mechanism needed (its republish path), and any other listener that must restart on new
 * parameters can be wrapped the same way.
 *
 * @module
 */

import {
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoSequenceHeader,
} from "../../codec/flv/mod.ts";
import type { TagListener } from "../stream/hub.ts";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Wraps `listener` so that a changed sequence header reaches it as an end and a new start.
 *
 * @example
 * ```ts
 * import { restartOnCodecChange } from "./codec_change.ts";
 * import assert from "node:assert/strict";
 * const seen: string[] = [];
 * const l = restartOnCodecChange({ onTag: (t) => seen.push(`tag${t.data[5] ?? ""}`), onEnd: () => seen.push("end") });
 * const avc = (v: number) => ({ type: 9 as const, timestampMs: 0, data: new Uint8Array([0x17, 0, 0, 0, 0, v]) });
 * l.onTag(avc(1));
 * l.onTag(avc(1)); // the same again: nothing changes
 * l.onTag(avc(2)); // new parameters
 * assert.deepEqual(seen, ["tag1", "tag1", "end", "tag2"]);
 * ```
 */
export function restartOnCodecChange(listener: TagListener): TagListener {
  let video: FlvTag | undefined;
  let audio: FlvTag | undefined;
  return {
    onTag(tag) {
      const d = tag.data;
      const isVideo = tag.type === FlvTagType.Video &&
        isVideoSequenceHeader(d);
      const isAudio = !isVideo && tag.type === FlvTagType.Audio &&
        isAudioSequenceHeader(d);
      if (isVideo || isAudio) {
        const last = isVideo ? video : audio;
        if (isVideo) video = tag;
        else audio = tag;
        if (last && !sameBytes(last.data, d)) {
          listener.onEnd();
          // Video first: the next segment opens on a keyframe that needs its parameters.
          for (const t of [video, audio]) {
            if (t) listener.onTag({ ...t, timestampMs: tag.timestampMs });
          }
          return;
        }
      }
      listener.onTag(tag);
    },
    onEnd() {
      video = undefined;
      audio = undefined;
      listener.onEnd();
    },
  };
}
