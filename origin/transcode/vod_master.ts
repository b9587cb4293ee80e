/**
 * The master playlist of a finished VOD job, from what ffmpeg wrote (never from what was
 * asked): each rendition's codecs from its own SPS and AudioSpecificConfig (MP4: its `avcC`
 * and `esds`; HLS: its first segment's SPS NAL unit and ADTS header), its size from the SPS,
 * and its BANDWIDTH as the peak segment bit rate (RFC 8216 §4.3.4.2; HLS: each segment's bytes
 * over its EXTINF; MP4: samples bucketed by segment duration, plus MPEG-TS overhead, as the
 * library's HLS of the file packs them).
 *
 * @module
 */

import { decodeAdtsHeader } from "../../codec/aac/mod.ts";
import { decodeAvcDecoderConfig, parseSps } from "../../codec/h264/mod.ts";
import { type MasterVariant, parseMediaPlaylist } from "../../codec/hls/mod.ts";
import { TsDemuxer } from "../../codec/mpegts/mod.ts";
import {
  aacCodecs,
  aacCodecsOfConfig,
  avcCodecsOfSps,
} from "../../codec/rfc6381/mod.ts";
import type { Library, LibraryFile } from "../vod/mod.ts";
import { indexMediaFile } from "../vod/mod.ts";
import { TranscodeError, TranscodeErrorCode } from "./errors.ts";
import {
  type RenditionPlan,
  type VodJobFormat,
  vodOutputPath,
} from "./profiles.ts";

/** MPEG-TS overhead over an MP4's sample bytes when the library serves it as HLS. */
const TS_OVERHEAD = 1.1;
/** PES stream ids of video (0xE0..0xEF) and MPEG audio (0xC0..0xDF), ISO/IEC 13818-1 Table 2-22. */
const isVideoStreamId = (id: number) => id >= 0xe0 && id <= 0xef;
const isAudioStreamId = (id: number) => id >= 0xc0 && id <= 0xdf;
const NAL_TYPE_SPS = 7;

/** One finished rendition, as a job reports it. */
export interface VodRendition {
  readonly profile: string;
  /** Path below the job's folder. */
  readonly path: string;
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  readonly codecs: readonly string[];
}

/** NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01). */
function annexBNalus(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = -1;
  for (let i = 0; i + 2 < data.byteLength; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) {
        let end = i;
        while (end > start && data[end - 1] === 0) end--;
        out.push(data.subarray(start, end));
      }
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0 && start < data.byteLength) out.push(data.subarray(start));
  return out;
}

function failed(what: string, why: string): TranscodeError {
  return new TranscodeError(
    TranscodeErrorCode.JobFailed,
    `Cannot describe rendition ${what}: ${why}`,
  );
}

/** TS packet size, and the PIDs of DVB service information (SDT, EIT, …: ETSI EN 300 468 §5.1.3). */
const TS_PACKET_BYTES = 188;
const isSiPid = (pid: number) => pid >= 0x10 && pid <= 0x1f;

/**
 * `ts` without its DVB service-information packets: ffmpeg writes an SDT (PID 0x11), which the
 * demuxer, reading only PAT, PMT and PES, would take for a broken PES.
 */
function withoutSiTables(ts: Uint8Array): Uint8Array {
  const kept: Uint8Array[] = [];
  for (let o = 0; o + TS_PACKET_BYTES <= ts.byteLength; o += TS_PACKET_BYTES) {
    const pid = ((ts[o + 1]! & 0x1f) << 8) | ts[o + 2]!;
    if (!isSiPid(pid)) kept.push(ts.subarray(o, o + TS_PACKET_BYTES));
  }
  const out = new Uint8Array(kept.length * TS_PACKET_BYTES);
  kept.forEach((p, i) => out.set(p, i * TS_PACKET_BYTES));
  return out;
}

/** Codecs and size of an HLS rendition from its first segment. */
function describeSegment(
  ts: Uint8Array,
  what: string,
): { codecs: string[]; width?: number; height?: number } {
  const { pes } = new TsDemuxer().demux(withoutSiTables(ts));
  const codecs: string[] = [];
  let width: number | undefined;
  let height: number | undefined;
  const video = pes.find((p) => isVideoStreamId(p.streamId));
  if (video) {
    const sps = annexBNalus(video.data).find((n) =>
      (n[0]! & 0x1f) === NAL_TYPE_SPS
    );
    if (!sps) throw failed(what, "its first video frame carries no SPS");
    codecs.push(avcCodecsOfSps(sps));
    ({ width, height } = parseSps(sps));
  }
  const audio = pes.find((p) => isAudioStreamId(p.streamId));
  if (audio) {
    const adts = decodeAdtsHeader(audio.data);
    if (!adts) throw failed(what, "its first audio frame is not ADTS");
    codecs.push(aacCodecs(adts.objectType));
  }
  return { codecs, width, height };
}

async function describeHls(
  dir: string,
  plan: RenditionPlan,
): Promise<VodRendition> {
  const path = vodOutputPath(plan.profile.name, "hls");
  const folder = `${dir}/${plan.profile.name}`;
  const playlist = parseMediaPlaylist(
    await Deno.readTextFile(`${dir}/${path}`),
  );
  let peak = 0;
  let bits = 0;
  let seconds = 0;
  let first: Uint8Array | undefined;
  for (const s of playlist.segments) {
    const file = `${folder}/${s.uri}`;
    const size = (await Deno.stat(file)).size;
    first ??= await Deno.readFile(file);
    if (s.durationSeconds > 0) {
      peak = Math.max(peak, (size * 8) / s.durationSeconds);
    }
    bits += size * 8;
    seconds += s.durationSeconds;
  }
  if (!first || seconds <= 0) throw failed(plan.profile.name, "no segments");
  return {
    profile: plan.profile.name,
    path,
    ...describeSegment(first, plan.profile.name),
    bandwidth: Math.ceil(peak),
    averageBandwidth: Math.ceil(bits / seconds),
  } as VodRendition;
}

async function describeMp4(
  dir: string,
  plan: RenditionPlan,
  library: Library,
  segmentSeconds: number,
): Promise<VodRendition> {
  const path = vodOutputPath(plan.profile.name, "mp4");
  const realPath = `${dir}/${path}`;
  const info = await Deno.stat(realPath);
  const file: LibraryFile = {
    library,
    relPath: path,
    realPath,
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? 0,
  };
  const media = await indexMediaFile(file);
  const codecs: string[] = [];
  let width: number | undefined;
  let height: number | undefined;
  const buckets: number[] = [];
  let bytes = 0;
  for (const t of media.index.tracks) {
    if (t.kind === "video" && t.codec === "h264" && t.config) {
      const sps = decodeAvcDecoderConfig(t.config).sps[0];
      if (!sps) throw failed(plan.profile.name, "its avcC holds no SPS");
      codecs.unshift(avcCodecsOfSps(sps));
      ({ width, height } = parseSps(sps));
    } else if (t.kind === "audio" && t.codec === "aac" && t.config) {
      codecs.push(aacCodecsOfConfig(t.config));
    }
    const s = t.samples;
    for (let i = 0; i < s.count; i++) {
      const k = Math.floor(s.dts[i]! / t.timescale / segmentSeconds);
      buckets[k] = (buckets[k] ?? 0) + s.size[i]!;
      bytes += s.size[i]!;
    }
  }
  const seconds = media.index.durationMs / 1000;
  if (seconds <= 0 || codecs.length === 0) {
    throw failed(plan.profile.name, "no H.264 or AAC track");
  }
  const lastSeconds = seconds - (buckets.length - 1) * segmentSeconds;
  let peak = 0;
  buckets.forEach((b, k) => {
    const span = k === buckets.length - 1
      ? Math.max(lastSeconds, 1)
      : segmentSeconds;
    peak = Math.max(peak, (b * 8) / span);
  });
  return {
    profile: plan.profile.name,
    path,
    width,
    height,
    codecs,
    bandwidth: Math.ceil(peak * TS_OVERHEAD),
    averageBandwidth: Math.ceil(((bytes * 8) / seconds) * TS_OVERHEAD),
  };
}

/**
 * Describes every rendition a job wrote into `dir` and the master playlist's variants: video
 * from the highest rate down, the audio-only rendition last. MP4 renditions are listed by the
 * library's HLS of each file (`{profile}.m3u8`), HLS ones by their own playlist.
 *
 * @throws {TranscodeError} `TRANSCODE_JOB_FAILED` when an output lacks what a master needs.
 */
export async function describeJobOutput(
  dir: string,
  plans: readonly RenditionPlan[],
  format: VodJobFormat,
  options: {
    readonly library: Library;
    readonly segmentSeconds: number;
    readonly sourceFps: number | undefined;
  },
): Promise<{ renditions: VodRendition[]; variants: MasterVariant[] }> {
  const renditions: VodRendition[] = [];
  const variants: MasterVariant[] = [];
  for (const plan of plans) {
    const r = format === "hls"
      ? await describeHls(dir, plan)
      : await describeMp4(dir, plan, options.library, options.segmentSeconds);
    renditions.push(r);
    const video = r.width !== undefined && r.height !== undefined;
    const cap = plan.profile.fps;
    const fps = options.sourceFps === undefined
      ? (cap > 0 ? cap : undefined)
      : cap > 0
      ? Math.min(cap, options.sourceFps)
      : options.sourceFps;
    variants.push({
      uri: format === "hls" ? r.path : `${plan.profile.name}.m3u8`,
      bandwidth: Math.max(r.bandwidth, r.averageBandwidth, 1),
      averageBandwidth: Math.max(r.averageBandwidth, 1),
      resolution: video ? { width: r.width!, height: r.height! } : undefined,
      frameRate: video ? fps : undefined,
      codecs: r.codecs,
    });
  }
  variants.sort((a, b) =>
    Number(a.resolution === undefined) - Number(b.resolution === undefined) ||
    b.bandwidth - a.bandwidth
  );
  return { renditions, variants };
}
