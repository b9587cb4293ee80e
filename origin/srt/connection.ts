/**
 * One accepted SRT connection: its streamid decides the role (publish or play), access
 * control decides whether it may, then MPEG-TS flows into the hub (publish) or out of it
 * (play). Each connection is its own failure domain: garbage TS, a bad streamid, a refusal or
 * a lost link closes that connection only, with one log line; the hub's other viewers go on.
 *
 * @module
 */

import { FlvToElementary } from "../../codec/flv/es_reader.ts";
import { ElementaryToFlv } from "../../codec/flv/es_muxer.ts";
import {
  TsElementaryReader,
  TsLiveWriter,
  TsStreamDemuxer,
} from "../../codec/mpegts/mod.ts";
import type { FlvTag } from "../../codec/flv/types.ts";
import { ConnState, type ConnTicket } from "../../net/mod.ts";
import {
  type IngestContext,
  type IngestPlay,
  type IngestPublish,
  startIngestPlay,
  startIngestPublish,
} from "../ingest/mod.ts";
import { describeError } from "../log.ts";
import {
  type Libsrt,
  SRT_LIVE_MAX_PAYLOAD_BYTES,
  SRT_LIVE_PAYLOAD_BYTES,
  SrtOpt,
} from "./libsrt.ts";
import {
  MAX_STREAM_ID_BYTES,
  parseSrtStreamId,
  type SrtStreamRequest,
} from "./stream_id.ts";

/** TS a publisher may send while its access decision runs (kept, then demuxed). */
export const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/** What every connection of one server shares. */
export interface SrtConnectionContext {
  readonly srt: Libsrt;
  readonly ingest: IngestContext;
  /** `origin.srt.idleTimeoutMs`. */
  readonly idleTimeoutMs: number;
  /** Told when the connection is gone (the server forgets it). */
  readonly closed: (conn: SrtConnection) => void;
}

/** One SRT connection. */
export class SrtConnection {
  readonly sock: number;
  readonly peer: string;
  readonly #c: SrtConnectionContext;
  readonly #ticket: ConnTicket;
  readonly #startedMs = Date.now();
  #lastInputMs = Date.now();
  #closed = false;
  #request: SrtStreamRequest | undefined;
  #role: "pending" | "deciding" | "publish" | "play" = "pending";
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #bytesIn = 0;
  #publish: IngestPublish | undefined;
  #play: IngestPlay | undefined;
  #demux = new TsStreamDemuxer();
  #es = new TsElementaryReader();
  #flv = new ElementaryToFlv({ encoder: "Meridian SRT ingest" });
  readonly #buf = new Uint8Array(SRT_LIVE_MAX_PAYLOAD_BYTES);

  constructor(
    sock: number,
    peer: string,
    ctx: SrtConnectionContext,
    ticket: ConnTicket,
  ) {
    this.sock = sock;
    this.peer = peer;
    this.#c = ctx;
    this.#ticket = ticket;
  }

  get #log() {
    return this.#c.ingest.log;
  }

  get #stream(): string | undefined {
    const r = this.#request;
    return r ? `${r.app}/${r.stream}` : undefined;
  }

  /** Reads the streamid and starts the access decision. */
  start(): void {
    const id = this.#c.srt.getString(
      this.sock,
      SrtOpt.StreamId,
      MAX_STREAM_ID_BYTES,
    );
    let request: SrtStreamRequest;
    try {
      request = parseSrtStreamId(id);
    } catch (err) {
      this.#c.ingest.metrics.refused("srt", "publish", "bad_name");
      return this.close("bad streamid", err);
    }
    this.#request = request;
    // Without m=: a live stream is played, any other is published (SRS and MediaMTX ask for m=).
    const mode = request.mode ??
      (this.#c.ingest.registry.get(request.app, request.stream)?.live
        ? "play"
        : "publish");
    this.#role = "deciding";
    const base = {
      protocol: "srt" as const,
      app: request.app,
      stream: request.stream,
      params: request.params,
      peer: this.peer,
    };
    const decided = mode === "publish"
      ? startIngestPublish(
        this.#c.ingest,
        base,
        () => this.close("kicked by an operator"),
      )
        .then((r) => {
          if (!r.allowed) {
            return this.close(`publish refused: ${r.description}`);
          }
          if (this.#closed) return r.publish.end();
          this.#publish = r.publish;
          this.#role = "publish";
          this.#ticket.mark(ConnState.Active);
          this.#log.info("publish started", {
            peer: this.peer,
            stream: this.#stream,
          });
          const queued = this.#pending;
          this.#pending = [];
          this.#pendingBytes = 0;
          for (const b of queued) this.#ingest(b);
        })
      : startIngestPlay(this.#c.ingest, base, {
        onTags: (tags) => this.#sendTags(tags),
        onEnd: (reason) => this.close(reason),
      }, () => this.close("access token revoked")).then((r) => {
        if (!r.allowed) return this.close(`play refused: ${r.description}`);
        if (this.#closed) return r.play.stop();
        this.#play = r.play;
        this.#role = "play";
        this.#ticket.mark(ConnState.Active);
        this.#log.info("play started", {
          peer: this.peer,
          stream: this.#stream,
        });
      });
    decided.catch((err) => this.close("access check failed", err));
  }

  /** epoll said the socket is readable (or in error): drain it. */
  readable(): void {
    while (!this.#closed) {
      const n = this.#c.srt.recv(this.sock, this.#buf);
      if (n === 0) return;
      if (n < 0) return this.close("peer closed the connection");
      this.#bytesIn += n;
      this.#lastInputMs = Date.now();
      const msg = this.#buf.slice(0, n);
      if (this.#role === "publish") this.#ingest(msg);
      else if (this.#role === "deciding" || this.#role === "pending") {
        this.#pendingBytes += n;
        if (this.#pendingBytes > MAX_PENDING_BYTES) {
          return this.close(
            `sent over ${MAX_PENDING_BYTES} bytes before its publish was allowed`,
          );
        }
        this.#pending.push(msg);
      }
      // A player's input (none is expected) is read and dropped.
    }
  }

  #ingest(bytes: Uint8Array): void {
    const hub = this.#publish?.hub;
    if (!hub) return;
    try {
      for (const ev of this.#demux.push(bytes)) {
        if (ev.kind !== "pes") continue;
        for (const e of this.#es.read(ev.pes)) {
          let tags: FlvTag[] = [];
          if (e.kind === "video") tags = this.#flv.pushVideo(e.frame);
          else if (e.kind === "audio") tags = this.#flv.pushAudio(e.frame);
          else if (e.kind === "aac-config") this.#flv.setAacConfig(e.asc);
          else if (e.kind === "skipped") {
            this.#log.info("elementary stream not carried", {
              peer: this.peer,
              stream: this.#stream,
              streamType: `0x${e.streamType.toString(16)}`,
            });
          }
          for (const t of tags) hub.pushTag(t);
        }
      }
    } catch (err) {
      this.close("bad MPEG-TS", err);
    }
  }

  #player = { reader: new FlvToElementary(), writer: new TsLiveWriter() };

  #sendTags(tags: readonly FlvTag[]): boolean {
    if (this.#closed) return false;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const t of tags) {
      for (const e of this.#player.reader.push(t)) {
        if (e.kind === "unsupported") {
          this.#log.info("track not carried over SRT", {
            peer: this.peer,
            stream: this.#stream,
            track: e.track,
            codec: e.codec,
          });
          continue;
        }
        const b = this.#player.writer.write(e);
        if (b.byteLength > 0) {
          parts.push(b);
          total += b.byteLength;
        }
      }
    }
    if (total === 0) return true;
    const all = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.byteLength;
    }
    try {
      for (let i = 0; i < all.byteLength; i += SRT_LIVE_PAYLOAD_BYTES) {
        const msg = all.subarray(
          i,
          Math.min(i + SRT_LIVE_PAYLOAD_BYTES, all.byteLength),
        );
        if (!this.#c.srt.send(this.sock, msg)) {
          this.#log.info("player too slow: SRT send buffer full", {
            peer: this.peer,
            stream: this.#stream,
          });
          return false;
        }
      }
    } catch (err) {
      queueMicrotask(() => this.close("send failed", err));
      return false;
    }
    return true;
  }

  /** The server's periodic check: idle connections and silent publishers are closed. */
  checkIdle(now: number): void {
    const limit = this.#c.idleTimeoutMs;
    if (
      (this.#role === "pending" || this.#role === "deciding") &&
      now - this.#startedMs > limit * 3
    ) {
      this.close(`no publish or play within ${(limit * 3) / 1000} s`);
    } else if (this.#role === "publish" && now - this.#lastInputMs > limit) {
      this.close(`publisher sent nothing for ${limit / 1000} s`);
    }
  }

  /** Closes the socket and ends its role; idempotent. The first reason is logged. */
  close(reason: string, error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#publish) {
      try {
        for (const ev of this.#demux.flush()) {
          if (ev.kind === "pes") {
            for (const e of this.#es.read(ev.pes)) {
              if (e.kind === "video") {
                for (const t of this.#flv.pushVideo(e.frame)) {
                  this.#publish.hub.pushTag(t);
                }
              }
            }
          }
        }
      } catch {
        // the last PES was damaged: nothing more to give the hub
      }
      this.#publish.end();
      this.#publish = undefined;
    }
    this.#play?.stop();
    this.#play = undefined;
    this.#ticket.release();
    this.#c.closed(this);
    const fields: Record<string, unknown> = {
      peer: this.peer,
      stream: this.#stream,
      reason,
      bytesIn: this.#bytesIn,
      durationSeconds: Math.round((Date.now() - this.#startedMs) / 100) / 10,
    };
    const ts = this.#demux.stats;
    if (ts.continuityErrors > 0) {
      fields.tsContinuityErrors = ts.continuityErrors;
    }
    if (error !== undefined) {
      fields.error = describeError(error);
      this.#log.warn("connection closed", fields);
    } else this.#log.info("connection closed", fields);
  }
}
