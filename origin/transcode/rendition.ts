/**
 * One live rendition: an ffmpeg child that reads its source as FLV on stdin (an HTTP-FLV viewer
 * of the source's hub, so a slow or dead ffmpeg never slows the source) and writes the
 * rendition as FLV on stdout, which is published as the ordinary stream `{stream}_{profile}`
 * (every output: RTMP, HTTP-FLV, HLS). A crash is restarted after a backoff that doubles per
 * crash; after `maxRestarts` crashes in a row the rendition is given up until the source
 * republishes. The rendition's stream survives restarts (its viewers wait), so a restarted
 * ffmpeg's first frames, which repeat the source's cached GOP, are dropped until a keyframe
 * after what was already published.
 *
 * @module
 */

import {
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoKeyframe,
  isVideoSequenceHeader,
} from "../../codec/flv/mod.ts";
import { FlvReader } from "../../codec/flv/mod.ts";
import type { Logger } from "../log.ts";
import type { Hub, Viewer } from "../stream/hub.ts";
import { StreamBusyError, type StreamRegistry } from "../stream/registry.ts";
import type { ChildProcesses, SupervisedChild } from "./children.ts";
import { TranscodeError, TranscodeErrorCode } from "./errors.ts";
import { StreamProbe } from "./probe.ts";
import {
  liveRenditionArgs,
  type RenditionPlan,
  type SourceShape,
  TRANSCODE_PROTOCOL,
} from "./profiles.ts";
import { ProgressParser, type ProgressReport } from "./progress.ts";

/** A run at least this long (ms) counts as a success: the crash count starts over. */
export const STABLE_RUN_MS = 30_000;
/** Longest wait between restarts (ms), however many crashes. */
export const MAX_BACKOFF_MS = 30_000;
/** ffmpeg log lines kept for the error report of a crash. */
export const ERROR_TAIL_LINES = 8;

/** Where a rendition is in its life. */
export type RenditionState =
  | "starting"
  | "running"
  | "backoff"
  | "failed"
  | "stopped";

/** The rendition as APIs show it. */
export interface RenditionView {
  readonly profile: string;
  readonly stream: string;
  readonly state: RenditionState;
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly error: string | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly fps: number | undefined;
  readonly speed: number | undefined;
  readonly bitrateKbps: number | undefined;
}

/** What a rendition needs from the transcoder. */
export interface RenditionDeps {
  readonly children: ChildProcesses;
  readonly registry: StreamRegistry;
  readonly log: Logger;
  readonly ffmpeg: string;
  /** ffmpeg may fall this many bytes behind the source before it is restarted. */
  readonly maxQueueBytes: number;
  readonly restartBackoffMs: number;
  /** A child that writes nothing for this long is killed (a crash). */
  readonly stallTimeoutMs: number;
  readonly maxRestarts: number;
  /** May another child start now (`origin.transcode.maxProcesses`)? */
  readonly mayStart: () => boolean;
  /** Told of every crash (for metrics), with a short reason. */
  readonly onCrash: (reason: string) => void;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Queues bytes for a child's stdin, one write in flight, bounded. */
class StdinPump {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #cap: number;
  readonly #queue: Uint8Array[] = [];
  #bytes = 0;
  #pumping = false;
  #closed = false;
  #closeWhenDrained = false;

  constructor(stream: WritableStream<Uint8Array>, cap: number) {
    this.#writer = stream.getWriter();
    this.#cap = cap;
  }

  /** Queues `bytes` (shared: never mutated); false when over the cap or closed. */
  write(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#bytes + bytes.byteLength > this.#cap) return false;
    this.#queue.push(bytes);
    this.#bytes += bytes.byteLength;
    if (!this.#pumping) void this.#pump();
    return true;
  }

  /** Ends the input after what is queued (ffmpeg then finishes and exits). */
  end(): void {
    this.#closeWhenDrained = true;
    if (!this.#pumping) void this.#pump();
  }

  /** Drops what is queued; the child is going away. */
  abort(): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#writer.abort().catch(() => {});
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const b = this.#queue.shift()!;
        this.#bytes -= b.byteLength;
        await this.#writer.write(b);
      }
      if (this.#closeWhenDrained && !this.#closed) {
        this.#closed = true;
        await this.#writer.close();
      }
    } catch {
      this.#closed = true; // the child closed its stdin (exited): its status tells why
    } finally {
      this.#pumping = false;
    }
  }
}

/** One rendition of one source stream. */
export class LiveRendition {
  readonly app: string;
  readonly name: string;
  readonly plan: RenditionPlan;
  /** The rendition's own output, as its master playlist entry needs it. */
  readonly probe = new StreamProbe();

  readonly #deps: RenditionDeps;
  readonly #log: Logger;
  readonly #now: () => number;
  #source: Hub | undefined;
  #shape: SourceShape | undefined;
  #state: RenditionState = "stopped";
  #child: SupervisedChild | undefined;
  #hub: Hub | undefined;
  #restarts = 0;
  #crashes = 0;
  #error: string | undefined;
  #progress: ProgressReport | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #run = 0;
  /** Newest timestamps published, per track: a restarted ffmpeg resumes after them. */
  #lastVideoMs = -Infinity;
  #lastAudioMs = -Infinity;
  #resuming = false;
  /** This run publishes into a stream an earlier run of ffmpeg started. */
  #restarted = false;
  /** When the running child last wrote output (epoch ms). */
  #lastOutputMs = 0;

  constructor(
    app: string,
    name: string,
    plan: RenditionPlan,
    deps: RenditionDeps,
  ) {
    this.app = app;
    this.name = name;
    this.plan = plan;
    this.#deps = deps;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
  }

  get state(): RenditionState {
    return this.#state;
  }

  /** The rendition's stream while it is published. */
  get hub(): Hub | undefined {
    return this.#hub;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get error(): string | undefined {
    return this.#error;
  }

  get progress(): ProgressReport | undefined {
    return this.#progress;
  }

  /** True while it runs or is about to (starting, running, waiting to restart). */
  get active(): boolean {
    return this.#state === "starting" || this.#state === "running" ||
      this.#state === "backoff";
  }

  view(): RenditionView {
    return {
      profile: this.plan.profile.name,
      stream: this.name,
      state: this.#state,
      pid: this.#child?.pid,
      restarts: this.#restarts,
      error: this.#error,
      width: this.probe.video?.width ?? this.plan.width,
      height: this.probe.video?.height ?? this.plan.height,
      fps: this.#progress?.fps,
      speed: this.#progress?.speed,
      bitrateKbps: this.#progress?.bitrateKbps,
    };
  }

  /**
   * Starts (or restarts after a stop or give-up) reading `source`. Does nothing while active.
   */
  start(source: Hub, shape: SourceShape): void {
    if (this.active) return;
    this.#source = source;
    this.#shape = shape;
    this.#crashes = 0;
    this.#error = undefined;
    this.#launch();
  }

  /** Stops the child and ends the rendition's stream. */
  async stop(reason: string): Promise<void> {
    this.#run++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const child = this.#child;
    if (this.#state !== "failed") this.#state = "stopped";
    this.#endHub();
    if (child) {
      this.#log.info("rendition stopped", { stream: this.#key, reason });
      await child.stop();
    }
  }

  get #key(): string {
    return `${this.app}/${this.name}`;
  }

  #endHub(): void {
    const hub = this.#hub;
    this.#hub = undefined;
    this.#lastVideoMs = -Infinity;
    this.#lastAudioMs = -Infinity;
    hub?.end();
  }

  #launch(): void {
    const run = ++this.#run;
    const source = this.#source;
    if (!source || !source.live) {
      this.#state = "stopped";
      return;
    }
    if (!this.#deps.mayStart()) {
      this.#error = new TranscodeError(
        TranscodeErrorCode.Limit,
        `Cannot start rendition ${this.#key}: origin.transcode.maxProcesses children run already`,
      ).message;
      this.#deps.onCrash("limit");
      this.#schedule(run, MAX_BACKOFF_MS);
      return;
    }
    this.#state = "starting";
    void this.#spawn(run, source).catch((e) => {
      if (run !== this.#run) return;
      const err = e instanceof TranscodeError ? e : new TranscodeError(
        TranscodeErrorCode.Spawn,
        `Cannot start rendition ${this.#key}: ${e}`,
        { cause: e },
      );
      this.#error = err.message;
      if (err.code === TranscodeErrorCode.FfmpegMissing) {
        // Not a crash to retry: nothing will change until ffmpeg is installed.
        this.#state = "failed";
        this.#deps.onCrash("ffmpeg_missing");
        this.#log.error("rendition not started", {
          stream: this.#key,
          error: err.message,
        });
        return;
      }
      this.#crashed(run, "spawn", err.message, 0);
    });
  }

  async #spawn(run: number, source: Hub): Promise<void> {
    const child = await this.#deps.children.spawn({
      command: this.#deps.ffmpeg,
      args: liveRenditionArgs(this.plan, this.#shape!, this.#key),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      label: `live ${this.#key}`,
    });
    if (run !== this.#run || !source.live) {
      child.kill();
      await child.status;
      return;
    }
    this.#child = child;
    const startedAt = this.#now();
    this.#resuming = this.#hub !== undefined;
    this.#restarted = this.#resuming;
    const stdin = new StdinPump(child.process.stdin, this.#deps.maxQueueBytes);
    let tooSlow = false;
    let stalled = false;
    this.#lastOutputMs = startedAt;
    const watchdog = setInterval(() => {
      if (this.#now() - this.#lastOutputMs < this.#deps.stallTimeoutMs) return;
      stalled = true;
      child.kill();
    }, Math.min(1_000, this.#deps.stallTimeoutMs / 2));
    const viewer: Viewer = {
      format: "flv",
      id: `transcoder ${this.#key}`,
      write: (bytes) => stdin.write(bytes),
      close: (_reason, dropped) => {
        if (dropped) {
          tooSlow = true;
          stdin.abort();
          child.kill();
        } else stdin.end(); // the source ended: ffmpeg finishes what it has
      },
    };
    source.addViewer(viewer);
    this.#log.info("rendition started", {
      stream: this.#key,
      pid: child.pid,
      profile: this.plan.profile.name,
    });
    const tail: string[] = [];
    const [, , status] = await Promise.all([
      this.#readOutput(run, child),
      this.#readLog(run, child, tail),
      child.status,
    ]);
    clearInterval(watchdog);
    source.removeViewer(viewer);
    stdin.abort();
    if (this.#child === child) this.#child = undefined;
    if (run !== this.#run) return; // stopped: stop() did the rest
    const ranMs = this.#now() - startedAt;
    if (!source.live && status.success) {
      this.#state = "stopped";
      this.#endHub();
      return;
    }
    const last = tail.length ? `: ${tail[tail.length - 1]}` : "";
    const why = stalled
      ? new TranscodeError(
        TranscodeErrorCode.Stalled,
        `Rendition ${this.#key} ffmpeg wrote nothing for ${
          this.#deps.stallTimeoutMs / 1000
        } s${last}`,
      ).message
      : tooSlow
      ? new TranscodeError(
        TranscodeErrorCode.TooSlow,
        `Rendition ${this.#key} fell behind its source by more than ${this.#deps.maxQueueBytes} bytes: ffmpeg is too slow for this profile`,
      ).message
      : new TranscodeError(
        TranscodeErrorCode.Crashed,
        `Rendition ${this.#key} ffmpeg ${
          status.signal
            ? `killed by ${status.signal}`
            : `exited with code ${status.code}`
        } after ${(ranMs / 1000).toFixed(1)} s${last}`,
      ).message;
    this.#crashed(
      run,
      stalled
        ? "stalled"
        : tooSlow
        ? "too_slow"
        : status.signal
        ? "killed"
        : "exited",
      why,
      ranMs,
      tail,
    );
  }

  #crashed(
    run: number,
    reason: string,
    message: string,
    ranMs: number,
    tail: readonly string[] = [],
  ): void {
    this.#error = message;
    this.#deps.onCrash(reason);
    this.#crashes = ranMs >= STABLE_RUN_MS ? 1 : this.#crashes + 1;
    if (!this.#source?.live) {
      this.#state = "stopped";
      this.#endHub();
      return;
    }
    if (this.#crashes > this.#deps.maxRestarts) {
      this.#state = "failed";
      this.#error = new TranscodeError(
        TranscodeErrorCode.GaveUp,
        `Rendition ${this.#key} given up after ${this.#crashes} crashes in a row: ${message}`,
      ).message;
      this.#log.error("rendition given up", {
        stream: this.#key,
        error: this.#error,
        log: tail.join("\n").slice(0, 2000),
      });
      this.#endHub();
      return;
    }
    const delay = Math.min(
      this.#deps.restartBackoffMs * 2 ** (this.#crashes - 1),
      MAX_BACKOFF_MS,
    );
    this.#log.warn("rendition crashed, restarting", {
      stream: this.#key,
      error: message,
      restartInSeconds: delay / 1000,
      log: tail.join("\n").slice(0, 2000),
    });
    this.#schedule(run, delay);
  }

  #schedule(run: number, delayMs: number): void {
    this.#state = "backoff";
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (run !== this.#run) return;
      this.#restarts++;
      this.#launch();
    }, delayMs);
  }

  async #readOutput(run: number, child: SupervisedChild): Promise<void> {
    const reader = new FlvReader();
    try {
      for await (const chunk of child.process.stdout) {
        if (run !== this.#run) continue; // drain: a stopped child may still write
        this.#lastOutputMs = this.#now();
        reader.push(chunk);
        for (let tag = reader.pull(); tag; tag = reader.pull()) {
          this.#publish(run, child, tag);
        }
      }
    } catch (e) {
      if (run === this.#run) {
        this.#log.warn("rendition output unreadable", {
          stream: this.#key,
          error: e instanceof Error ? e.message : String(e),
        });
        child.kill();
      }
    }
  }

  #publish(run: number, child: SupervisedChild, tag: FlvTag): void {
    if (run !== this.#run) return;
    if (!this.#hub) {
      try {
        this.#hub = this.#deps.registry.startPublish(this.app, this.name, {
          peer: `ffmpeg:${child.pid}`,
          protocol: TRANSCODE_PROTOCOL,
        });
        this.#hub.addListener(this.probe);
      } catch (e) {
        if (!(e instanceof StreamBusyError)) throw e;
        this.#run++;
        this.#state = "failed";
        this.#error = new TranscodeError(
          TranscodeErrorCode.NameTaken,
          `Cannot publish rendition ${this.#key}: another publisher holds that stream`,
        ).message;
        this.#deps.onCrash("name_taken");
        this.#log.error("rendition not published", {
          stream: this.#key,
          error: this.#error,
        });
        child.kill();
        return;
      }
    }
    if (this.#state === "starting") this.#state = "running";
    const admitted = this.#admit(tag);
    if (admitted) this.#hub.pushTag(admitted);
  }

  /**
   * After a restart, drops what the rendition already published: media up to the first video
   * keyframe (or, audio-only, the first audio frame) later than the newest timestamp out. The
   * new ffmpeg's sequence headers pass, stamped no earlier than what viewers have (timestamps
   * never go back on a viewer's connection); its metadata is the first run's and is dropped.
   */
  #admit(tag: FlvTag): FlvTag | undefined {
    const d = tag.data;
    if (tag.type === FlvTagType.Script) {
      return this.#restarted ? undefined : tag;
    }
    const isVideo = tag.type === FlvTagType.Video;
    const last = isVideo ? this.#lastVideoMs : this.#lastAudioMs;
    if (isVideo ? isVideoSequenceHeader(d) : isAudioSequenceHeader(d)) {
      return tag.timestampMs >= last ? tag : { ...tag, timestampMs: last };
    }
    if (this.#resuming) {
      const videoOut = this.plan.profile.video !== "none";
      const resumesHere = videoOut
        ? isVideo && isVideoKeyframe(d) && tag.timestampMs > this.#lastVideoMs
        : !isVideo && tag.timestampMs > this.#lastAudioMs;
      if (!resumesHere) return undefined;
      this.#resuming = false;
    }
    if (tag.timestampMs < last) return undefined;
    if (isVideo) this.#lastVideoMs = tag.timestampMs;
    else this.#lastAudioMs = tag.timestampMs;
    return tag;
  }

  async #readLog(
    run: number,
    child: SupervisedChild,
    tail: string[],
  ): Promise<void> {
    const parser = new ProgressParser();
    const decoder = new TextDecoder();
    const take = (events: ReturnType<ProgressParser["push"]>) => {
      for (const e of events) {
        if (e.kind === "report") {
          if (run === this.#run) this.#progress = e.report;
        } else {
          tail.push(e.line);
          if (tail.length > ERROR_TAIL_LINES) tail.shift();
          this.#log.debug("ffmpeg", { stream: this.#key, line: e.line });
        }
      }
    };
    try {
      for await (const chunk of child.process.stderr) {
        take(parser.push(decoder.decode(chunk, { stream: true })));
      }
    } catch {
      // the pipe broke with the child: its status tells why
    }
    take(parser.end());
  }
}
