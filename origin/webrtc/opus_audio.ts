/**
 * Opus audio for WHEP viewers of an AAC stream. WebRTC carries Opus, the hub carries AAC, and
 * we never hand-write an encoder: one ffmpeg child per stream that has WebRTC viewers (run by
 * the transcoder's supervisor, `../transcode/`: own process group, parent-death signal, pid
 * file) reads the stream's audio tags as FLV on its stdin and sends Opus RTP (48 kHz, 20 ms
 * frames, low-delay mode) to a loopback UDP socket of ours; each viewer's audio track gets
 * those packets. The child starts with the first viewer and stops with the last or with the
 * stream; if it cannot start or dies, the viewers keep their video (one log line).
 *
 * @module
 */

import { encodeFlvHeader } from "../../codec/flv/header.ts";
import { encodeFlvTag } from "../../codec/flv/tag.ts";
import { FlvTagType } from "../../codec/flv/types.ts";
import { decodeRtp } from "../../codec/rtp/mod.ts";
import type { Logger } from "../log.ts";
import { describeError } from "../log.ts";
import type { Hub } from "../stream/hub.ts";

/** The Opus RTP payload type ffmpeg writes (rewritten per viewer by the WebRTC sender). */
const OPUS_PT = 111;
/** Audio bytes queued for ffmpeg's stdin at most; past it tags are dropped (a stuck child). */
export const MAX_AUDIO_QUEUE_BYTES = 1024 * 1024;
/** Bytes of one UDP datagram we read (an Opus packet of 20 ms is a few hundred). */
const DATAGRAM_BYTES = 4096;

/** What the feed needs to run ffmpeg (the transcoder's {@link ChildProcesses}). */
export interface AudioChildren {
  spawn(spec: {
    readonly command: string;
    readonly args: readonly string[];
    readonly stdin: "piped" | "null";
    readonly stdout: "piped" | "null";
    readonly stderr: "piped" | "null";
    readonly label: string;
  }): Promise<
    {
      readonly process: Deno.ChildProcess;
      readonly status: Promise<Deno.CommandStatus>;
      stop(): Promise<unknown>;
    }
  >;
}

/** Options shared by every stream's feed. */
export interface OpusFeedOptions {
  readonly children: AudioChildren;
  /** The ffmpeg binary. */
  readonly ffmpeg: string;
  readonly log: Logger;
}

/** ffmpeg's arguments: FLV audio on stdin, Opus RTP to `port` on loopback. */
export function opusArgs(port: number): string[] {
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    "-fflags",
    "nobuffer",
    "-flags",
    "low_delay",
    "-probesize",
    "32",
    "-analyzeduration",
    "0",
    "-f",
    "flv",
    "-i",
    "pipe:0",
    "-vn",
    "-c:a",
    "libopus",
    "-b:a",
    "64k",
    "-ar",
    "48000",
    "-ac",
    "2",
    "-application",
    "lowdelay",
    "-frame_duration",
    "20",
    "-f",
    "rtp",
    "-payload_type",
    String(OPUS_PT),
    `rtp://127.0.0.1:${port}?pkt_size=1200`,
  ];
}

type Subscriber = (rtp: Uint8Array) => void;

/** One stream's transcoding child and its viewers. */
class StreamFeed {
  readonly #hub: Hub;
  readonly #o: OpusFeedOptions;
  readonly #subs = new Set<Subscriber>();
  readonly #onIdle: () => void;
  #socket: Deno.DatagramConn | undefined;
  #child: Awaited<ReturnType<AudioChildren["spawn"]>> | undefined;
  #offHub: (() => void) | undefined;
  #stopped = false;
  #queued = 0;
  #chain: Promise<void> = Promise.resolve();
  /** Packets delivered (for tests and the close line). */
  packets = 0;

  constructor(hub: Hub, options: OpusFeedOptions, onIdle: () => void) {
    this.#hub = hub;
    this.#o = options;
    this.#onIdle = onIdle;
  }

  add(fn: Subscriber): () => void {
    this.#subs.add(fn);
    return () => {
      this.#subs.delete(fn);
      if (this.#subs.size === 0) this.stop("no WebRTC viewer left");
    };
  }

  async start(): Promise<void> {
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: "127.0.0.1",
      port: 0,
    });
    this.#socket = socket;
    const port = (socket.addr as Deno.NetAddr).port;
    const label = `webrtc opus ${this.#hub.app}/${this.#hub.name}`;
    try {
      this.#child = await this.#o.children.spawn({
        command: this.#o.ffmpeg,
        args: opusArgs(port),
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
        label,
      });
    } catch (err) {
      this.stop("ffmpeg did not start", err);
      return;
    }
    if (this.#stopped) {
      void this.#child.stop();
      return;
    }
    const child = this.#child;
    const stdin = child.process.stdin.getWriter();
    let lastError = "";
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of child.process.stderr) {
          const lines = decoder.decode(chunk).trim().split("\n");
          lastError = (lines.at(-1) ?? lastError).slice(0, 300);
        }
      } catch {
        // closed with the child
      }
    })();
    void child.status.then((s) => {
      if (!this.#stopped) {
        this.stop(
          `ffmpeg exited (code ${s.code})${lastError ? `: ${lastError}` : ""}`,
          new Error("Opus transcoder exited"),
        );
      }
    });
    const write = (bytes: Uint8Array) => {
      if (this.#queued + bytes.byteLength > MAX_AUDIO_QUEUE_BYTES) return;
      this.#queued += bytes.byteLength;
      this.#chain = this.#chain.then(async () => {
        try {
          await stdin.write(bytes);
        } catch {
          // The child is gone: its exit is reported above.
        } finally {
          this.#queued -= bytes.byteLength;
        }
      });
    };
    write(encodeFlvHeader({ hasAudio: true, hasVideo: false }));
    this.#offHub = this.#hub.addListener({
      onTag: (t) => {
        if (t.type === FlvTagType.Audio) write(encodeFlvTag(t));
      },
      onEnd: () => this.stop("stream ended"),
    });
    void this.#receive(socket);
  }

  async #receive(socket: Deno.DatagramConn): Promise<void> {
    try {
      for (;;) {
        const [bytes] = await socket.receive(new Uint8Array(DATAGRAM_BYTES));
        if (this.#stopped) return;
        try {
          const p = decodeRtp(bytes);
          if (p.payloadType !== OPUS_PT) continue; // ffmpeg's RTCP goes elsewhere; be sure
        } catch {
          continue;
        }
        this.packets++;
        for (const fn of this.#subs) fn(bytes);
      }
    } catch {
      // closed by stop()
    }
  }

  stop(reason: string, error?: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#offHub?.();
    try {
      this.#socket?.close();
    } catch {
      // already closed
    }
    void this.#child?.stop();
    this.#onIdle();
    const fields: Record<string, unknown> = {
      stream: `${this.#hub.app}/${this.#hub.name}`,
      reason,
      packets: this.packets,
    };
    if (error !== undefined) {
      fields.error = describeError(error);
      this.#o.log.warn("opus audio stopped", fields);
    } else this.#o.log.info("opus audio stopped", fields);
  }
}

/**
 * The Opus feeds of every stream with WebRTC viewers.
 *
 * @example
 * ```ts ignore
 * const feeds = new OpusFeeds({ children, ffmpeg: "ffmpeg", log });
 * const release = feeds.subscribe(hub, (rtp) => peer.sendAudioRtp(rtp));
 * ```
 */
export class OpusFeeds {
  readonly #o: OpusFeedOptions;
  readonly #feeds = new Map<Hub, StreamFeed>();

  constructor(options: OpusFeedOptions) {
    this.#o = options;
  }

  /** Feeds running now. */
  get running(): number {
    return this.#feeds.size;
  }

  /** Gets `hub`'s Opus packets (starting its child if needed); returns the release. */
  subscribe(hub: Hub, fn: Subscriber): () => void {
    let feed = this.#feeds.get(hub);
    if (!feed) {
      const made: StreamFeed = new StreamFeed(hub, this.#o, () => {
        if (this.#feeds.get(hub) === made) this.#feeds.delete(hub);
      });
      feed = made;
      this.#feeds.set(hub, made);
      void made.start();
    }
    return feed.add(fn);
  }

  /** Stops every child (origin shutdown). */
  close(): void {
    for (const f of [...this.#feeds.values()]) f.stop("origin shutting down");
  }
}
