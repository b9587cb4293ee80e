/**
 * HTTP-FLV time-shift: `/{app}/{stream}.flv?start=T` plays the DVR from the keyframe at or
 * before `T` at live speed (after a short burst that fills the player's buffer), follows the
 * recording as new segments are kept, and joins the live edge when it catches up with it.
 *
 * The frames are the DVR's segments read back ({@link TsSampleReader}), so their timestamps
 * are the publisher's own; tags go out on one timeline from 0 (a join of publish sessions
 * continues it a frame later, without the gap between them).
 *
 * Joining the live edge: when the next segment is not kept yet and the stream is live in the
 * same session, the hub's tags are taken from now on (bounded); once the segment that holds
 * the moment the tags began is played, the body goes on with those tags from their first
 * keyframe, with no gap and no overlap, and from then on as the hub sends them.
 *
 * @module
 */

import { encodeAmf0 } from "../../codec/amf0/encode.ts";
import { Amf0EcmaArray } from "../../codec/amf0/types.ts";
import {
  encodeFlvHeader,
  encodeFlvTag,
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoKeyframe,
  isVideoSequenceHeader,
} from "../../codec/flv/mod.ts";
import { type TsSample, TsSampleReader } from "../../codec/mpegts/mod.ts";
import type { LiveOut } from "../../net/mod.ts";
import { describeError, type Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import type { DvrSegment, DvrStore } from "./dvr_store.ts";

/** Media sent ahead of real time at the start (ms): the player's buffer fills at once. */
export const TIMESHIFT_BURST_MS = 2_000;
/** Live tags held while waiting to join the live edge (bytes); more: keep following the DVR. */
export const MAX_JOIN_BUFFER_BYTES = 16 * 1024 * 1024;
/**
 * How far (ms) the first live keyframe may lie past the end of the last kept segment and
 * still continue it: a few frames of timestamp rounding, never a missing GOP.
 */
const JOIN_SLACK_MS = 100;
/** The gap put between two sessions' frames on the output timeline (ms). */
const JOIN_GAP_MS = 40;

/** What a time-shift FLV body needs. */
export interface TimeshiftFlvDeps {
  readonly dvr: DvrStore;
  readonly registry: StreamRegistry;
  readonly isOpen: (app: string, stream: string) => boolean;
  readonly log: Logger;
  /** Told when a body joins the live edge. */
  readonly onJoin?: (() => void) | undefined;
  /** @default Date.now */
  readonly now?: () => number;
}

/** One body's request. */
export interface TimeshiftFlvRequest {
  readonly app: string;
  readonly stream: string;
  /** Where to start (wall clock, epoch ms). */
  readonly startMs: number;
  /** The first segment to play (holds `startMs`, or the first after it). */
  readonly first: DvrSegment;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function si24(v: number): [number, number, number] {
  const u = v < 0 ? v + 0x1000000 : v;
  return [(u >> 16) & 0xff, (u >> 8) & 0xff, u & 0xff];
}

/** The FLV tag body of a sample read back (legacy AVC / AAC, FLV spec E.4.2, E.4.3). */
export function sampleTagBody(s: TsSample): Uint8Array {
  if (s.kind === "audio") {
    const out = new Uint8Array(2 + s.data.byteLength);
    out[0] = 0xaf;
    out[1] = 1;
    out.set(s.data, 2);
    return out;
  }
  const out = new Uint8Array(5 + s.data.byteLength);
  out[0] = ((s.sync ? 1 : 2) << 4) | 7;
  out[1] = 1;
  out.set(si24(Math.round(s.ptsMs - s.dtsMs)), 2);
  out.set(s.data, 5);
  return out;
}

/**
 * Feeds `out` until the stream is over, the client goes (`signal`), or it is too slow.
 * Never throws: a failure ends the body with a log line.
 *
 * @returns Whether it joined the live edge.
 */
export async function runTimeshiftFlv(
  req: TimeshiftFlvRequest,
  out: LiveOut,
  signal: AbortSignal,
  deps: TimeshiftFlvDeps,
): Promise<{ readonly joined: boolean }> {
  const now = deps.now ?? Date.now;
  const key = `${req.app}/${req.stream}`;
  let wallStart: number | undefined;
  let mediaStart = 0;
  let lastOut = 0;
  let shift = 0;
  let headerSent = false;
  let sentVideoConfig: Uint8Array | undefined;
  let sentAudioConfig: Uint8Array | undefined;
  let reader = new TsSampleReader();
  let prev: DvrSegment | undefined;
  let lastDts = -Infinity;
  let over = false;
  // Joining the live edge.
  let live: {
    tags: FlvTag[];
    bytes: number;
    unsubscribe: () => void;
    ended: boolean;
  } | undefined;
  let joined = false;
  let wake: (() => void) | undefined;
  const unsubscribeDvr = deps.dvr.subscribe(
    req.app,
    req.stream,
    () => wake?.(),
  );
  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      wake = done;
      signal.addEventListener("abort", done, { once: true });
    });

  const write = (tag: FlvTag): boolean => {
    if (over) return false;
    if (!out.write(encodeFlvTag(tag))) {
      over = true;
      return false;
    }
    return true;
  };
  const sendHead = (hasAudio: boolean, hasVideo: boolean) => {
    if (headerSent) return;
    headerSent = true;
    out.write(encodeFlvHeader({ hasAudio, hasVideo }));
    const cfg = reader.config;
    const meta: Record<string, number | boolean | string> = { duration: 0 };
    if (cfg.video) {
      meta.width = cfg.video.width ?? 0;
      meta.height = cfg.video.height ?? 0;
      meta.videocodecid = 7;
    }
    if (cfg.audio) {
      meta.audiocodecid = 10;
      meta.audiosamplerate = cfg.audio.sampleRate;
      meta.stereo = cfg.audio.channels > 1;
    }
    meta.timeshiftStart = new Date(req.startMs).toISOString();
    out.write(encodeFlvTag({
      type: FlvTagType.Script,
      timestampMs: 0,
      data: encodeAmf0("onMetaData", new Amf0EcmaArray(meta)),
    }));
  };
  const sendConfigs = (ts: number) => {
    const cfg = reader.config;
    if (cfg.video && cfg.video.config !== sentVideoConfig) {
      sentVideoConfig = cfg.video.config;
      const body = new Uint8Array(5 + cfg.video.config.byteLength);
      body.set([0x17, 0, 0, 0, 0]);
      body.set(cfg.video.config, 5);
      write({ type: FlvTagType.Video, timestampMs: ts, data: body });
    }
    if (cfg.audio && cfg.audio.config !== sentAudioConfig) {
      sentAudioConfig = cfg.audio.config;
      const body = new Uint8Array(2 + cfg.audio.config.byteLength);
      body.set([0xaf, 0]);
      body.set(cfg.audio.config, 2);
      write({ type: FlvTagType.Audio, timestampMs: ts, data: body });
    }
  };
  /** Waits until `outTs` is due (live speed after the burst). */
  const pace = async (outTs: number) => {
    if (wallStart === undefined) {
      wallStart = now();
      mediaStart = outTs;
      return;
    }
    const due = wallStart + (outTs - mediaStart) - TIMESHIFT_BURST_MS;
    const wait = due - now();
    if (wait > 1) await sleep(wait, signal);
  };
  const hubOfSession = (seg: DvrSegment) => {
    const hub = deps.registry.get(req.app, req.stream);
    return hub && seg.session.split("-")[0] === String(hub.startedAtMs)
      ? hub
      : undefined;
  };

  try {
    let next: DvrSegment | undefined = req.first;
    while (!over && !signal.aborted) {
      if (!next) {
        const view = deps.dvr.view(req.app, req.stream);
        const segs = view?.segments ?? [];
        const at = prev ? segs.findIndex((s) => s.name === prev!.name) : -1;
        next = at >= 0
          ? segs[at + 1]
          : prev
          ? segs.find((s) => s.programDateTimeMs > prev!.programDateTimeMs)
          : segs[0];
      }
      if (!next) {
        // Caught up with what is kept.
        if (live && !live.ended && prev && await tryJoin()) break;
        // Nothing more will come: the publish ended (and its grace passed).
        if (!deps.isOpen(req.app, req.stream)) break;
        if (!live && prev) {
          const hub = hubOfSession(prev);
          if (hub) {
            const l = {
              tags: [] as FlvTag[],
              bytes: 0,
              unsubscribe: () => {},
              ended: false,
            };
            l.unsubscribe = hub.addListener({
              onTag: (t) => {
                if (joined) {
                  // Live: as the hub sends them.
                  if (t.type === FlvTagType.Script) return;
                  write({
                    ...t,
                    timestampMs: Math.max(0, t.timestampMs + shift),
                  });
                  return;
                }
                l.tags.push(t);
                l.bytes += t.data.byteLength;
                if (l.bytes > MAX_JOIN_BUFFER_BYTES) {
                  l.unsubscribe();
                  l.ended = true;
                  l.tags = [];
                }
              },
              onEnd: () => {
                l.ended = true;
                wake?.();
              },
            });
            live = l;
          }
        }
        // Until a segment is kept, the hub ends, a second passes, or the client goes.
        await idle(1000);
        continue;
      }
      const seg = next;
      next = undefined;
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(
          `${deps.dvr.streamDir(req.app, req.stream)}/${seg.name}`,
        );
      } catch {
        prev = seg; // left the window meanwhile: on to the next
        continue;
      }
      const joins = !prev || seg.session !== prev.session ||
        seg.discontinuity ||
        seg.sequence !== prev.sequence + 1;
      if (joins && prev) reader = new TsSampleReader();
      const samples = reader.read(bytes, seg.mediaStartMs).sort((a, b) =>
        a.dtsMs - b.dtsMs
      );
      let from = 0;
      if (!prev) {
        // The keyframe at or before the start (the segment begins with one).
        const startMedia = seg.mediaStartMs +
          (req.startMs - seg.programDateTimeMs);
        for (let i = 0; i < samples.length; i++) {
          const s = samples[i]!;
          if (s.kind === "video" && s.sync && s.dtsMs <= startMedia) from = i;
        }
        // Audio-only: the frame at or before the start.
        if (!samples.some((s) => s.kind === "video")) {
          from = Math.max(
            0,
            samples.findIndex((s) => s.dtsMs > startMedia) - 1,
          );
        }
      }
      const first = samples[from];
      if (first && joins) {
        shift = prev ? lastOut + JOIN_GAP_MS - first.dtsMs : -first.dtsMs;
        lastDts = -Infinity;
      }
      sendHead(
        reader.config.audio !== undefined,
        reader.config.video !== undefined,
      );
      if (first) sendConfigs(Math.max(0, Math.round(first.dtsMs + shift)));
      for (let i = from; i < samples.length && !over && !signal.aborted; i++) {
        const s = samples[i]!;
        const ts = Math.max(0, Math.round(s.dtsMs + shift));
        await pace(ts);
        if (signal.aborted) break;
        if (
          !write({
            type: s.kind === "video" ? FlvTagType.Video : FlvTagType.Audio,
            timestampMs: ts,
            data: sampleTagBody(s),
          })
        ) break;
        lastOut = Math.max(lastOut, ts);
        lastDts = Math.max(lastDts, s.dtsMs);
      }
      prev = seg;
    }
  } catch (err) {
    deps.log.warn("time-shift FLV ended on an error", {
      stream: key,
      error: describeError(err),
    });
  } finally {
    unsubscribeDvr();
    if (!joined || over || signal.aborted) live?.unsubscribe();
  }
  if (joined && !over && !signal.aborted) {
    // Live from the hub now: the body ends with the stream (or the client).
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (over || signal.aborted || live?.ended) {
          clearInterval(check);
          resolve();
        }
      }, 200);
    });
    live?.unsubscribe();
  }
  out.end(over, over ? "too slow" : "time-shift over");
  return { joined };

  /** Switches to the buffered live tags if they continue exactly where the DVR stopped. */
  async function tryJoin(): Promise<boolean> {
    const l = live!;
    // The first buffered keyframe after what was played.
    const k = l.tags.findIndex((t) =>
      t.type === FlvTagType.Video && isVideoKeyframe(t.data) &&
      t.timestampMs > lastDts
    );
    if (k < 0) return false;
    const key0 = l.tags[k]!;
    // Contiguous: it is the next segment's first frame (nothing between was missed).
    const view = deps.dvr.view(req.app, req.stream);
    const kept = view?.segments ?? [];
    const last = kept[kept.length - 1];
    if (!last || last.name !== prev!.name) return false;
    if (key0.timestampMs - lastDts > prev!.durationMs + JOIN_SLACK_MS) {
      return false;
    }
    if (
      key0.timestampMs > prev!.mediaStartMs + prev!.durationMs + JOIN_SLACK_MS
    ) return false;
    // The buffer from that keyframe on, then (with nothing awaited between the last one and
    // the switch) the hub's tags as they come: in order, none twice.
    l.tags = l.tags.slice(k);
    while (l.tags.length > 0 && !over && !signal.aborted) {
      const t = l.tags.shift()!;
      if (t.type === FlvTagType.Script) continue;
      if (t.type === FlvTagType.Video && isVideoSequenceHeader(t.data)) {
        continue;
      }
      if (t.type === FlvTagType.Audio && isAudioSequenceHeader(t.data)) {
        continue;
      }
      const ts = Math.max(0, t.timestampMs + shift);
      if (l.tags.length > 0) await pace(ts);
      write({ ...t, timestampMs: ts });
    }
    joined = true;
    deps.onJoin?.();
    l.tags = [];
    return true;
  }
}
