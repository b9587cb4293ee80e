/**
 * Live adaptive-bitrate ladders: for every stream of an app listed in `origin.transcode.apps`,
 * one {@link LiveRendition} (one ffmpeg child) per profile the source is large enough for,
 * started with the publish (`start: always`) or with the first request for the stream's
 * master playlist or one of its renditions (`on_demand`), and stopped when the source ends or,
 * on demand, `idleStopSeconds` after the last such request while no one watches a rendition.
 *
 * The recursion guard: a stream published by a transcoder (`publisher.protocol` is
 * {@link TRANSCODE_PROTOCOL}) or named like a rendition (`{stream}_{profile}` for a profile
 * of its app) is never a source, whoever publishes it.
 *
 * `/{app}/{stream}.m3u8` of such a stream is a master playlist: the source and every running
 * rendition with their measured bit rates, sizes, frame rates and RFC 6381 codecs, and the
 * audio-only rendition. Its variants are served below `/{app}/{stream}/` (so one session
 * credential of a protected app covers the whole set).
 *
 * @module
 */

import type {
  TranscodeAppConfig,
  TranscodeConfig,
  TranscodeProfile,
} from "../../config/mod.ts";
import {
  type MasterVariant,
  renderMasterPlaylist,
} from "../../codec/hls/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import type { Logger } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import type { ChildProcesses } from "./children.ts";
import { StreamProbe } from "./probe.ts";
import {
  planRenditions,
  rateControl,
  renditionName,
  renditionOf,
  type SkippedProfile,
  type SourceShape,
  TRANSCODE_PROTOCOL,
} from "./profiles.ts";
import { LiveRendition, type RenditionView } from "./rendition.ts";

/**
 * A request for a master playlist or an on-demand rendition waits at most this long (ms) for
 * the renditions' first segments: below hls.js's 10 s manifest timeout and an edge's 10 s
 * upstream timeout, as the packagers' own hold.
 */
export const MAX_DEMAND_WAIT_MS = 8_000;
/** How often a waiting request looks again (ms). */
const DEMAND_POLL_MS = 100;
/** An audio-only source is planned once this much of its audio (ms) has arrived. */
export const AUDIO_ONLY_PROBE_MS = 1_000;
/**
 * MPEG-TS and PES overhead over the elementary streams' bit rate, for a variant without a
 * measured segment yet (188-byte packets with 4-byte headers, PES headers, PAT/PMT: 5–10 %).
 */
const TS_OVERHEAD = 1.1;
/** A source whose rate is not known yet is announced at this many bits/s. */
const UNKNOWN_SOURCE_BPS = 2_000_000;

/** What the transcoder reads of the HLS packagers. */
export interface HlsSegmentsView {
  playlist(app: string, stream: string): string | undefined;
  /** The listed segments of a stream: their durations and bytes (for BANDWIDTH). */
  segments(
    app: string,
    stream: string,
  ): readonly { readonly durationMs: number; readonly bytes: Uint8Array }[];
}

/** What {@link LiveTranscoder} needs from the origin. */
export interface LiveTranscoderDeps {
  readonly registry: StreamRegistry;
  readonly hls: HlsSegmentsView | undefined;
  readonly children: ChildProcesses;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /** ffmpeg to run. */
  readonly ffmpeg: string;
  /** ffmpeg may fall this many bytes behind its source (`origin.live.maxViewerQueueBytes`). */
  readonly maxQueueBytes: number;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** A transcoded stream as `/api/streams` shows it. */
export interface TranscodeView {
  readonly start: "on_demand" | "always";
  readonly renditions: readonly RenditionView[];
  readonly skipped: readonly SkippedProfile[];
}

interface Source {
  readonly hub: Hub;
  readonly app: TranscodeAppConfig;
  readonly profiles: readonly TranscodeProfile[];
  readonly probe: StreamProbe;
  readonly renditions: Map<string, LiveRendition>;
  skipped: SkippedProfile[];
  shape: SourceShape | undefined;
  /** Renditions are wanted (always, or a demand since the last idle stop). */
  wanted: boolean;
  lastDemandMs: number;
  firstAudioMs: number | undefined;
}

/** Live ladders of every transcoded stream. */
export class LiveTranscoder {
  readonly #config: TranscodeConfig;
  readonly #deps: LiveTranscoderDeps;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #apps: Map<string, TranscodeAppConfig>;
  readonly #sources = new Map<string, Source>();
  readonly #unsubscribe: () => void;
  readonly #idleTimer: ReturnType<typeof setInterval>;
  readonly #crashes;
  #closed = false;

  constructor(config: TranscodeConfig, deps: LiveTranscoderDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#apps = new Map(config.apps.map((a) => [a.name, a]));
    const m = deps.metrics;
    this.#crashes = m.counter(
      "meridian_origin_transcode_crashes_total",
      "Live renditions' ffmpeg runs that ended before their source, by reason (exited, killed, stalled, too_slow, spawn, limit, ffmpeg_missing, name_taken)",
    );
    m.collect(
      "meridian_origin_transcode_processes",
      "Live renditions by state (starting, running, backoff: waiting to restart, failed: given up, stopped)",
      "gauge",
      () => {
        const n: Record<string, number> = {
          starting: 0,
          running: 0,
          backoff: 0,
          failed: 0,
          stopped: 0,
        };
        for (const s of this.#sources.values()) {
          for (const r of s.renditions.values()) n[r.state]!++;
        }
        return Object.entries(n).map(([state, v]) => [{ state }, v]);
      },
    );
    m.collect(
      "meridian_origin_transcode_restarts",
      "Restarts of each live rendition's ffmpeg since its source was published",
      "gauge",
      () => this.#each((r) => r.restarts),
    );
    m.collect(
      "meridian_origin_transcode_fps",
      "Frames per second each live rendition's ffmpeg encodes (from its -progress output)",
      "gauge",
      () => this.#each((r) => r.progress?.fps),
    );
    m.collect(
      "meridian_origin_transcode_speed",
      "Encoding speed of each live rendition (1 = real time; below 1 it falls behind)",
      "gauge",
      () => this.#each((r) => r.progress?.speed),
    );
    m.collect(
      "meridian_origin_transcode_bitrate_kbps",
      "Output bit rate of each live rendition, kbit/s (from its -progress output)",
      "gauge",
      () => this.#each((r) => r.progress?.bitrateKbps),
    );
    this.#unsubscribe = deps.registry.onPublish((hub) => this.#onPublish(hub));
    const idleMs = config.idleStopSeconds * 1000;
    this.#idleTimer = setInterval(
      () => this.#stopIdle(),
      Math.max(250, Math.min(idleMs / 4, 5_000)),
    );
  }

  *#each(
    value: (r: LiveRendition) => number | undefined,
  ): Iterable<[Record<string, string>, number]> {
    for (const s of this.#sources.values()) {
      for (const r of s.renditions.values()) {
        const v = value(r);
        if (v === undefined || !r.active) continue;
        yield [{
          stream: `${s.hub.app}/${s.hub.name}`,
          profile: r.plan.profile.name,
        }, v];
      }
    }
  }

  /** The transcoder's view of a stream for `/api/streams`, if it is a source or a rendition. */
  describe(
    app: string,
    stream: string,
  ):
    | TranscodeView
    | { readonly renditionOf: string; readonly profile: string }
    | undefined {
    const s = this.#sources.get(`${app}/${stream}`);
    if (s) {
      return {
        start: s.app.start,
        renditions: [...s.renditions.values()].map((r) => r.view()),
        skipped: s.skipped,
      };
    }
    const cfg = this.#apps.get(app);
    const r = cfg
      ? renditionOf(stream, this.#profilesOf(cfg).map((p) => p.name))
      : undefined;
    return r
      ? { renditionOf: `${app}/${r.source}`, profile: r.profile }
      : undefined;
  }

  /** True when `app/stream` is a live stream with a ladder (its `.m3u8` is a master). */
  isSource(app: string, stream: string): boolean {
    return this.#sources.has(`${app}/${stream}`);
  }

  /**
   * A viewer's request for `app/stream` (its master, a variant, a rendition by name): starts
   * an on-demand ladder and keeps it from the idle stop. True when the name belongs to a
   * ladder.
   */
  touch(app: string, stream: string): boolean {
    const s = this.#sourceOf(app, stream);
    if (!s) return false;
    s.lastDemandMs = this.#now();
    if (!s.wanted) {
      s.wanted = true;
      this.#startAll(s);
    }
    return true;
  }

  /**
   * True when `variant` is `stream` itself or one of its renditions (the URLs below
   * `/{app}/{stream}/` a master lists); counts as a viewer's request.
   */
  variantOf(app: string, stream: string, variant: string): boolean {
    const s = this.#sources.get(`${app}/${stream}`);
    if (!s) return false;
    if (variant !== stream && !s.renditions.has(variant)) return false;
    this.touch(app, stream);
    return true;
  }

  /**
   * A request for a rendition by name (`/{app}/{stream}_{profile}.flv|.m3u8`): starts its
   * ladder on demand and waits (at most {@link MAX_DEMAND_WAIT_MS}) for the rendition's
   * stream, so the request finds it. Resolves at once for any other name.
   */
  async demand(app: string, name: string, signal?: AbortSignal): Promise<void> {
    const s = this.#sourceOf(app, name);
    if (!s || s.hub.name === name) return;
    this.touch(app, name);
    await this.#waitFor(
      s,
      () => {
        const r = s.renditions.get(name);
        return !s.hub.live || (s.shape !== undefined && !r) ||
          r?.hub !== undefined || (r !== undefined && !r.active);
      },
      signal,
    );
  }

  /**
   * The master playlist of a transcoded stream, or `undefined` when `app/stream` has no
   * ladder (or nothing yet to list). Starts an on-demand ladder and waits (at most
   * {@link MAX_DEMAND_WAIT_MS}) for every rendition's first segment.
   */
  async master(
    app: string,
    stream: string,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const s = this.#sources.get(`${app}/${stream}`);
    const hls = this.#deps.hls;
    if (!s || !hls) return undefined;
    this.touch(app, stream);
    await this.#waitFor(s, () => {
      if (!s.hub.live) return true;
      if (!s.shape) return false;
      if (sourceCodecs(s.probe) && hls.playlist(app, stream) === undefined) {
        return false;
      }
      for (const r of s.renditions.values()) {
        if (r.active && hls.playlist(app, r.name) === undefined) return false;
      }
      return true;
    }, signal);
    const variants = this.#variants(s, hls);
    if (variants.length === 0) return undefined;
    return renderMasterPlaylist({ independentSegments: true, variants });
  }

  /** Stops every ladder and kills every child. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    clearInterval(this.#idleTimer);
    const all: Promise<void>[] = [];
    for (const s of this.#sources.values()) {
      for (const r of s.renditions.values()) all.push(r.stop("shutdown"));
    }
    this.#sources.clear();
    await Promise.allSettled(all);
  }

  #profilesOf(app: TranscodeAppConfig): readonly TranscodeProfile[] {
    if (app.profiles.length === 0) return this.#config.profiles;
    return app.profiles.map((n) =>
      this.#config.profiles.find((p) => p.name === n)!
    );
  }

  /** The ladder `name` belongs to: the source itself or one of its renditions. */
  #sourceOf(app: string, name: string): Source | undefined {
    const direct = this.#sources.get(`${app}/${name}`);
    if (direct) return direct;
    const cfg = this.#apps.get(app);
    if (!cfg) return undefined;
    const r = renditionOf(name, this.#profilesOf(cfg).map((p) => p.name));
    return r ? this.#sources.get(`${app}/${r.source}`) : undefined;
  }

  /** Waits for `done`; a request waiting counts as demand (the idle stop leaves `s` alone). */
  async #waitFor(
    s: Source,
    done: () => boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const deadline = this.#now() + MAX_DEMAND_WAIT_MS;
    while (!done() && !this.#closed && !signal?.aborted) {
      s.lastDemandMs = this.#now();
      if (s.lastDemandMs >= deadline) return;
      await new Promise((r) => setTimeout(r, DEMAND_POLL_MS));
    }
  }

  #onPublish(hub: Hub): void {
    if (this.#closed) return;
    const app = this.#apps.get(hub.app);
    if (!app) return;
    const key = `${hub.app}/${hub.name}`;
    const profiles = this.#profilesOf(app);
    // The recursion guard, twice: by the publisher's marker and by the name.
    if (hub.publisher.protocol === TRANSCODE_PROTOCOL) return;
    const named = renditionOf(hub.name, profiles.map((p) => p.name));
    if (named) {
      this.#log.info("stream not transcoded: its name is a rendition's", {
        stream: key,
        profile: named.profile,
      });
      return;
    }
    const source: Source = {
      hub,
      app,
      profiles,
      probe: new StreamProbe(),
      renditions: new Map(),
      skipped: [],
      shape: undefined,
      wanted: app.start === "always",
      lastDemandMs: this.#now(),
      firstAudioMs: undefined,
    };
    this.#sources.set(key, source);
    hub.addListener({
      onTag: (tag) => {
        source.probe.onTag(tag);
        if (source.shape === undefined) {
          this.#checkReady(source, tag.type, tag.timestampMs);
        }
      },
      onEnd: () => {
        if (this.#sources.get(key) === source) this.#sources.delete(key);
        for (const r of source.renditions.values()) void r.stop("source ended");
      },
    });
  }

  #checkReady(s: Source, type: number, timestampMs: number): void {
    const p = s.probe;
    if (type === 8 && p.audio && s.firstAudioMs === undefined) {
      s.firstAudioMs = timestampMs;
    }
    const videoReady = p.keyframes > 0;
    const audioOnlyReady = p.video === undefined &&
      s.firstAudioMs !== undefined &&
      timestampMs - s.firstAudioMs >= AUDIO_ONLY_PROBE_MS;
    if (!videoReady && !audioOnlyReady) return;
    s.shape = {
      hasVideo: p.video !== undefined,
      // Encoders send the audio sequence header before the first keyframe; a source whose
      // audio comes later is planned without the audio-only rendition.
      hasAudio: p.audio !== undefined,
      width: p.video?.width,
      height: p.video?.height,
    };
    const key = `${s.hub.app}/${s.hub.name}`;
    const { planned, skipped } = planRenditions(s.profiles, s.shape);
    s.skipped = skipped;
    for (const k of skipped) {
      this.#log.info("profile skipped", {
        stream: key,
        profile: k.profile,
        reason: k.reason,
      });
    }
    for (const plan of planned) {
      const name = renditionName(s.hub.name, plan.profile.name);
      s.renditions.set(
        name,
        new LiveRendition(s.hub.app, name, plan, {
          children: this.#deps.children,
          registry: this.#deps.registry,
          log: this.#log,
          ffmpeg: this.#deps.ffmpeg,
          maxQueueBytes: this.#deps.maxQueueBytes,
          restartBackoffMs: this.#config.restartBackoffSeconds * 1000,
          stallTimeoutMs: this.#config.stallTimeoutSeconds * 1000,
          maxRestarts: this.#config.maxRestarts,
          mayStart: () => this.#activeChildren() < this.#config.maxProcesses,
          onCrash: (reason) => this.#crashes.inc({ reason }),
          ...(this.#deps.now ? { now: this.#deps.now } : {}),
        }),
      );
    }
    if (s.wanted) this.#startAll(s);
  }

  /** Live renditions with a child now (VOD jobs' children are not counted). */
  #activeChildren(): number {
    let n = 0;
    for (const s of this.#sources.values()) {
      for (const r of s.renditions.values()) {
        if (r.state === "starting" || r.state === "running") n++;
      }
    }
    return n;
  }

  #startAll(s: Source): void {
    if (!s.shape || !s.hub.live) return;
    for (const r of s.renditions.values()) {
      if (r.state === "stopped" || r.state === "failed") {
        r.start(s.hub, s.shape);
      }
    }
  }

  #stopIdle(): void {
    const idleMs = this.#config.idleStopSeconds * 1000;
    const now = this.#now();
    for (const s of this.#sources.values()) {
      if (s.app.start === "always" || !s.wanted) continue;
      if (now - s.lastDemandMs < idleMs) continue;
      const watched = [...s.renditions.values()].some((r) =>
        (r.hub?.viewerCount ?? 0) > 0
      );
      if (watched) continue;
      s.wanted = false;
      for (const r of s.renditions.values()) {
        if (r.active) void r.stop("no viewers");
      }
    }
  }

  #variants(s: Source, hls: HlsSegmentsView): MasterVariant[] {
    const app = s.hub.app;
    const stream = s.hub.name;
    const out: MasterVariant[] = [];
    // The source is listed whenever the packager carries it, its first segment there or not
    // (its variant playlist is held until it is): once a stream's `.m3u8` has been a master it
    // stays one, or a player reloading it would find a media playlist there.
    const codecs = sourceCodecs(s.probe);
    if (codecs) {
      const rate = measured(hls.segments(app, stream)) ??
        estimateFromHub(s.hub, this.#now());
      const video = s.probe.video?.codecs !== undefined;
      out.push({
        uri: `${stream}/${stream}.m3u8`,
        bandwidth: rate.peak,
        averageBandwidth: rate.average,
        resolution: video ? sizeOf(s.probe) : undefined,
        frameRate: video ? s.probe.frameRate : undefined,
        codecs,
      });
    }
    for (const r of s.renditions.values()) {
      if (!r.active || hls.playlist(app, r.name) === undefined) continue;
      const codecs = r.probe.codecs;
      if (codecs.length === 0) continue;
      const rate = measured(hls.segments(app, r.name)) ??
        configuredRate(r.plan.profile);
      const audioOnly = r.plan.profile.video === "none";
      out.push({
        uri: `${stream}/${r.name}.m3u8`,
        bandwidth: rate.peak,
        averageBandwidth: rate.average,
        resolution: audioOnly ? undefined : sizeOf(r.probe),
        frameRate: audioOnly ? undefined : r.probe.frameRate,
        codecs,
      });
    }
    // Video variants from the highest rate down (the first is where players start), the
    // audio-only variant last.
    return out.sort((a, b) =>
      Number(a.resolution === undefined) - Number(b.resolution === undefined) ||
      b.bandwidth - a.bandwidth
    );
  }
}

/**
 * The codecs of what the HLS packager makes of a source (H.264 video, AAC or MP3 audio;
 * a stream of other video is packaged audio-only), or undefined when it packages nothing.
 */
function sourceCodecs(p: StreamProbe): string[] | undefined {
  const audio = p.audio?.codecs;
  const video = p.video?.codecs;
  const out = [...(video ? [video] : []), ...(audio ? [audio] : [])];
  return out.length > 0 ? out : undefined;
}

function sizeOf(p: StreamProbe): { width: number; height: number } | undefined {
  const v = p.video;
  return v?.width && v.height
    ? { width: v.width, height: v.height }
    : undefined;
}

/** Peak and average bit rate of a stream's listed segments (RFC 8216 §4.3.4.2). */
function measured(
  segments: readonly {
    readonly durationMs: number;
    readonly bytes: Uint8Array;
  }[],
): { peak: number; average: number } | undefined {
  let peak = 0;
  let bits = 0;
  let ms = 0;
  for (const s of segments) {
    if (s.durationMs < 100) continue; // a stub segment (a cut at the end) says little
    const b = s.bytes.byteLength * 8;
    peak = Math.max(peak, (b * 1000) / s.durationMs);
    bits += b;
    ms += s.durationMs;
  }
  if (ms === 0) return undefined;
  return { peak: Math.ceil(peak), average: Math.ceil((bits * 1000) / ms) };
}

/** A rendition without a measured segment: its configured rates plus TS overhead. */
function configuredRate(
  p: TranscodeProfile,
): { peak: number; average: number } {
  const audio = p.audio === "aac" ? p.audioKbps : p.audio === "copy" ? 128 : 0;
  const video = p.video === "none" ? 0 : p.video === "copy" ? 0 : p.videoKbps;
  const peakVideo = p.video === "none" || p.video === "copy"
    ? 0
    : rateControl(p).maxrateKbps;
  const average = Math.ceil((video + audio) * 1000 * TS_OVERHEAD);
  const peak = Math.max(
    average,
    Math.ceil((peakVideo + audio) * 1000 * TS_OVERHEAD),
  );
  return { peak: Math.max(peak, 1), average: Math.max(average, 1) };
}

/** A source without a measured segment: its ingest rate so far. */
function estimateFromHub(
  hub: Hub,
  nowMs: number,
): { peak: number; average: number } {
  const seconds = (nowMs - hub.startedAtMs) / 1000;
  const bps = seconds > 1
    ? Math.ceil((hub.bytesIn * 8 * TS_OVERHEAD) / seconds)
    : UNKNOWN_SOURCE_BPS;
  return { peak: Math.max(bps, 1), average: Math.max(bps, 1) };
}
