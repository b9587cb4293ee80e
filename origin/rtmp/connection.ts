/**
 * One RTMP client connection: its socket, its {@link RtmpServerSession}, and its role once it
 * has one (publisher, live player or VOD player), wired to the stream registry, access control
 * and the media libraries.
 *
 * Each connection is its own failure domain: a protocol error, a slow player or a dead socket
 * closes that connection only, with one log line saying why; the hub and its other viewers go
 * on (STYLE B6). Deadlines: the handshake must be done within `handshakeTimeoutMs` of accept
 * and a publish or play started within {@link IDLE_PERIODS} of those periods, counted from
 * accept and never restarted by a byte, so a handshake or a chunk header trickled a byte at a
 * time is cut like a silent socket; a publisher that sends nothing for as long is dropped.
 *
 * Why one file of some 750 lines: {@link RtmpConnection} is one owner of one connection's
 * state (its role, the access decision in flight, the reason it closes, its guard ticket),
 * and every path here (publish, live play, VOD play, refusal, close) reads and changes that
 * state under the same rules; spread over files, those fields would have to become public
 * and any piece could break them. What stands alone already does: the protocol in
 * `session.ts`, the write queue in `socket_writer.ts`, accepting in `listener.ts`, the VOD
 * player in `../vod/rtmp_play.ts`, the access decision in `../auth/rtmp.ts`.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";
import type { RtmpAccessRecord } from "../../log/access/mod.ts";
import {
  encodeRtmpMediaTag,
  encodeRtmpMessage,
  encodeSetChunkSize,
  RTMP_DEFAULT_CHUNK_SIZE,
  RTMP_MEDIA_STREAM_ID,
  RtmpChunkReader,
  RtmpProtocolError,
} from "../../codec/rtmp/mod.ts";
import { ConnState, type ConnTicket } from "../../net/mod.ts";
import {
  authorizeRtmpAccess,
  type RtmpAccessControl,
  type RtmpAccessRequest,
  type RtmpAccessSession,
} from "../auth/rtmp.ts";
import type { Logger } from "../log.ts";
import type { Hub, Viewer } from "../stream/hub.ts";
import { StreamBusyError, type StreamRegistry } from "../stream/registry.ts";
import type { MediaFile } from "../vod/media_file.ts";
import { VodRtmpPlayer } from "../vod/rtmp_play.ts";
import type { RawRelayMark, RelayAdmission } from "../relay/wire.ts";
import { RtmpServerSession, type RtmpSessionEvent } from "./session.ts";
import { SocketWriter } from "./socket_writer.ts";

/** How long a client has to finish the handshake before we close, milliseconds. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Watchdog periods (of `handshakeTimeoutMs` each) a connection may stay idle: connected without
 * publishing or playing, or publishing without sending a byte.
 */
export const IDLE_PERIODS = 3;

/** How long we keep flushing a final status message before closing anyway, milliseconds. */
export const CLOSE_FLUSH_TIMEOUT_MS = 2_000;

/** Bytes read from the socket at a time, once the peer has shown it sends much (a publisher). */
export const READ_BUFFER_BYTES = 64 * 1024;

/**
 * The first read buffer of every connection. Players send almost nothing after the handshake, so
 * thousands of them would otherwise hold 64 KiB each for nothing; a read that fills this buffer
 * (a publisher) grows it to {@link READ_BUFFER_BYTES}.
 */
export const INITIAL_READ_BUFFER_BYTES = 4 * 1024;

/** Bytes queued for a VOD player's socket before the player waits for it to drain. */
const VOD_QUEUE_BYTES = 512 * 1024;
/** Media a VOD player gets ahead of the clock at start and after a seek (ms). */
const VOD_BURST_MS = 3000;

/** The options of the RTMP server that every connection reads. */
export interface RtmpConnectionOptions {
  /** Our outgoing chunk size, bytes; the same for every player so media bytes are shared. */
  readonly outChunkSize: number;
  /** Bytes a player may have queued before we drop it as too slow. */
  readonly maxViewerQueueBytes: number;
  /** @default HANDSHAKE_TIMEOUT_MS */
  readonly handshakeTimeoutMs?: number;
}

/** What RTMP VOD play needs from the VOD service. */
export interface RtmpVodSource {
  /** True when `app` is a library's app (`vod` for the `/vod/` prefix). */
  ownsApp(app: string): boolean;
  /**
   * The file a play names (`mp4:a/b.mp4`, `a/b.mp4`, or without the extension), indexed;
   * `undefined` when there is none.
   * @throws When the file is not valid media (the player gets NetStream.Play.Failed).
   */
  rtmpMedia(app: string, name: string): Promise<MediaFile | undefined>;
}

/** Why a publish or play was refused, as the server counts it (`RtmpServer.refusals`). */
export type RtmpRefusalReason =
  | "bad_name"
  | "denied"
  | "busy"
  | "max_streams"
  | "not_found"
  | "one_per_connection"
  | "relay";

/** How relay marks on RTMP are judged (origin/relay's Relay). */
export interface RtmpRelayGate {
  /** A play that may be a downstream relay's pull. */
  admit(raw: RawRelayMark | undefined): RelayAdmission;
  /** A publish that may be another origin's push: refused when this node is in its chain. */
  admitPush(raw: RawRelayMark | undefined): RelayAdmission;
}

/** What every connection of one server shares. */
export interface RtmpConnectionContext {
  readonly options: RtmpConnectionOptions;
  readonly registry: StreamRegistry;
  readonly log: Logger;
  readonly access: RtmpAccessControl | undefined;
  readonly vod: RtmpVodSource | undefined;
  readonly maxStreams: number;
  /** Relay marks (hop count, chain, secret) of plays and publishes; none without a relay. */
  readonly relay?: RtmpRelayGate | undefined;
  readonly refused: (
    action: "publish" | "play",
    reason: RtmpRefusalReason,
  ) => void;
  /** An RTMP `connect` command arrived (a client reached the app). */
  readonly connected?: () => void;
  /** A connection closed: what it did, for the access log. */
  readonly sessionEnded?: (record: RtmpAccessRecord) => void;
}

/** `host:port` of the peer, as log lines and access requests name it. */
export function peerOf(conn: Deno.Conn): string {
  const a = conn.remoteAddr as Deno.NetAddr;
  return `${a.hostname}:${a.port}`;
}

/**
 * Re-encodes shared media bytes (message stream id 1) for a player that asked to play on
 * another stream id. Rare (every client we know plays on the first createStream), so it is the
 * slow path: parse our own chunks back and re-chunk them.
 */
function createStreamIdRewriter(
  streamId: number,
  chunkSize: number,
): (bytes: Uint8Array) => Uint8Array {
  const reader = new RtmpChunkReader();
  reader.push(
    encodeRtmpMessage(encodeSetChunkSize(chunkSize), RTMP_DEFAULT_CHUNK_SIZE),
  );
  return (bytes) =>
    concatBytes(
      reader.push(bytes).map((m) =>
        encodeRtmpMessage({ ...m, streamId }, chunkSize)
      ),
    );
}

/** The relay chain a publish arrived with (another origin's push), if any. */
type PublishChain =
  | { readonly hops: number; readonly via: readonly string[] }
  | undefined;

interface Publishing {
  readonly hub: Hub;
  readonly streamId: number;
}

interface Playing {
  readonly hub: Hub;
  readonly viewer: Viewer;
  readonly streamId: number;
}

/** One client connection: socket, session, and its role (publisher or player). */
export class RtmpConnection {
  readonly #conn: Deno.Conn;
  readonly #id: number;
  readonly #peer: string;
  readonly #options: RtmpConnectionOptions;
  readonly #registry: StreamRegistry;
  readonly #log: Logger;
  readonly #session: RtmpServerSession;
  readonly #writer: SocketWriter;
  readonly #startedMs = Date.now();
  #closed = false;
  #closing = false;
  #closeReason = "";
  #closeCode: string | undefined;
  #closeError: unknown;
  #stream = "";
  #app = "";
  /** What this connection did (the access log's `kind`). */
  #kind: RtmpAccessRecord["kind"] = "none";
  #publishing: Publishing | undefined;
  #bytesRead = 0;
  #playing: Playing | undefined;
  #vodPlayer:
    | { readonly player: VodRtmpPlayer; readonly streamId: number }
    | undefined;
  readonly #access: RtmpAccessControl | undefined;
  readonly #shared: RtmpConnectionContext;
  readonly #ticket: ConnTicket;
  /** An access decision in flight; input is not read until it settles. */
  #pending: Promise<void> | undefined;
  #accessSession: RtmpAccessSession | undefined;

  constructor(
    conn: Deno.Conn,
    id: number,
    shared: RtmpConnectionContext,
    ticket: ConnTicket,
  ) {
    this.#shared = shared;
    this.#ticket = ticket;
    this.#access = shared.access;
    this.#conn = conn;
    this.#id = id;
    this.#peer = peerOf(conn);
    this.#options = shared.options;
    this.#registry = shared.registry;
    this.#log = shared.log;
    this.#writer = new SocketWriter(
      conn,
      (err) =>
        // A player that hangs up mid-write is an ordinary end, not a server problem.
        err instanceof Deno.errors.BrokenPipe ||
          err instanceof Deno.errors.ConnectionReset
          ? this.close("peer closed the connection")
          : this.close("write failed", err),
    );
    this.#session = new RtmpServerSession({
      outChunkSize: this.#options.outChunkSize,
      onEvent: (e) => this.#onEvent(e),
    });
  }

  /** Closes the socket now; idempotent. The first reason is the one logged. */
  close(reason: string, error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#closeError = error;
    if (error instanceof RtmpProtocolError) this.#closeCode = error.code;
    this.#writer.close();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }

  /** Flushes what is queued (bounded by CLOSE_FLUSH_TIMEOUT_MS), then closes. */
  #closeAfterFlush(reason: string): void {
    if (this.#closing || this.#closed) return;
    this.#closing = true;
    const timer = setTimeout(() => this.close(reason), CLOSE_FLUSH_TIMEOUT_MS);
    void this.#writer.drained().then(() => {
      clearTimeout(timer);
      this.close(reason);
    });
  }

  #flushSession(): void {
    const out = this.#session.takeOutput();
    if (out.length > 0) this.#writer.enqueue(concatBytes(out));
  }

  async run(): Promise<void> {
    const handshakeTimeoutMs = this.#options.handshakeTimeoutMs ??
      HANDSHAKE_TIMEOUT_MS;
    // One watchdog per connection, run every handshakeTimeoutMs: a client must finish the
    // handshake within one period of accept, start publishing or playing within IDLE_PERIODS
    // (bytes sent meanwhile change nothing: only an access decision in flight, bounded by the
    // hook timeout, is not idle), and a publisher that sends nothing for IDLE_PERIODS is
    // dropped (its viewers see the stream end); so is a connection idle after its role ended.
    let idlePeriods = 0;
    let bytesAtLastCheck = 0;
    const timer = setInterval(() => {
      if (!this.#session.handshakeDone) {
        this.close(`handshake not finished in ${handshakeTimeoutMs} ms`);
        return;
      }
      const active = this.#playing !== undefined ||
        this.#vodPlayer !== undefined ||
        (this.#publishing !== undefined &&
          this.#bytesRead > bytesAtLastCheck) ||
        this.#pending !== undefined;
      bytesAtLastCheck = this.#bytesRead;
      idlePeriods = active ? 0 : idlePeriods + 1;
      if (idlePeriods >= IDLE_PERIODS) {
        this.close(
          this.#publishing
            ? `publisher sent nothing for ${
              (IDLE_PERIODS * handshakeTimeoutMs) / 1000
            } s`
            : `no publish or play within ${
              (IDLE_PERIODS * handshakeTimeoutMs) / 1000
            } s`,
        );
      }
    }, handshakeTimeoutMs);
    try {
      (this.#conn as Deno.TcpConn).setNoDelay?.(true);
      let buf = new Uint8Array(INITIAL_READ_BUFFER_BYTES);
      while (!this.#closed) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          this.close("peer closed the connection");
          break;
        }
        // After a refusal we only wait for the status to flush; input no longer matters.
        if (this.#closing) continue;
        this.#bytesRead += n;
        this.#session.receive(buf.subarray(0, n));
        this.#flushSession();
        if (n === buf.byteLength && n < READ_BUFFER_BYTES) {
          buf = new Uint8Array(READ_BUFFER_BYTES);
        }
        // Backpressure while access is decided: a client waits for its onStatus anyway.
        if (this.#pending) await this.#pending;
      }
    } catch (err) {
      if (this.#closed) {
        // The read was interrupted by our own close().
      } else if (err instanceof RtmpProtocolError) {
        this.close("protocol error", err);
      } else if (
        err instanceof Deno.errors.ConnectionReset ||
        err instanceof Deno.errors.BrokenPipe
      ) {
        this.close("connection reset by peer");
      } else {
        this.close("internal error", err);
      }
    } finally {
      clearInterval(timer);
      this.close(this.#closeReason || "closed");
      this.#ticket.release();
      this.#cleanup();
      this.#logClose();
    }
  }

  #cleanup(): void {
    if (this.#publishing) {
      this.#publishing.hub.end();
      this.#publishing = undefined;
    }
    if (this.#playing) {
      this.#playing.hub.removeViewer(this.#playing.viewer);
      this.#playing = undefined;
    }
    this.#vodPlayer?.player.stop();
    this.#vodPlayer = undefined;
    this.#endAccessSession();
  }

  /** Tells access control the publish or play ended (once). */
  #endAccessSession(): void {
    const s = this.#accessSession;
    this.#accessSession = undefined;
    s?.end();
  }

  /**
   * Runs the access decision for a publish or play, then `then` with an allowed decision, or
   * refuses. Without access control, `then` runs at once (synchronously).
   */
  #decide(
    kind: "publish" | "play",
    streamId: number,
    request: RtmpAccessRequest,
    then: (session: RtmpAccessSession | undefined) => void,
  ): void {
    const named = authorizeRtmpAccess(request);
    if (!named.allowed) {
      return this.#refuse(
        kind,
        streamId,
        named.code,
        named.description,
        "bad_name",
      );
    }
    if (!this.#access) return then(undefined);
    this.#pending = this.#access.authorize(request).then(
      (decision) => {
        if (this.#closed || this.#closing) {
          if (decision.allowed) decision.session?.end();
          return;
        }
        if (!decision.allowed) {
          return this.#refuse(
            kind,
            streamId,
            decision.code,
            decision.description,
            "denied",
          );
        }
        then(decision.session);
        this.#flushSession();
      },
      (err) => this.close("access check failed", err),
    ).finally(() => {
      this.#pending = undefined;
    });
  }

  #logClose(): void {
    const fields: Record<string, unknown> = {
      peer: this.#peer,
      conn: this.#id,
      stream: this.#stream || undefined,
      reason: this.#closeReason,
      bytesIn: this.#session.bytesReceived,
      durationSeconds: Math.round((Date.now() - this.#startedMs) / 100) / 10,
    };
    if (this.#closeCode) fields.code = this.#closeCode;
    const ended = this.#shared.sessionEnded;
    if (ended) {
      const slash = this.#stream.indexOf("/");
      ended({
        time: this.#startedMs,
        client: this.#peer.slice(0, this.#peer.lastIndexOf(":")),
        kind: this.#kind,
        app: this.#app,
        stream: slash < 0 ? "" : this.#stream.slice(slash + 1),
        durationSeconds: (Date.now() - this.#startedMs) / 1000,
        bytesIn: this.#session.bytesReceived,
        bytesOut: this.#writer.bytesWritten,
        reason: this.#closeCode
          ? `${this.#closeReason} (${this.#closeCode})`
          : this.#closeReason,
      });
    }
    if (this.#closeError !== undefined) {
      fields.error = this.#closeError;
      this.#log.warn("connection closed", fields);
    } else {
      this.#log.info("connection closed", fields);
    }
  }

  #onEvent(event: RtmpSessionEvent): void {
    switch (event.type) {
      case "publish":
        return this.#onPublish(event);
      case "play":
        return this.#onPlay(event);
      case "media":
        if (this.#publishing?.streamId === event.streamId) {
          this.#publishing.hub.pushTag(event.tag);
        }
        return;
      case "unpublish":
        if (this.#publishing?.streamId === event.streamId) {
          this.#publishing.hub.end();
          this.#publishing = undefined;
          this.#ticket.mark(ConnState.Idle);
          this.#endAccessSession();
          this.#log.info("publish ended", {
            peer: this.#peer,
            stream: this.#stream,
            reason: event.reason,
          });
        }
        return;
      case "seek":
        if (this.#vodPlayer?.streamId === event.streamId) {
          this.#vodPlayer.player.seek(event.ms);
        }
        return;
      case "pause":
        if (this.#vodPlayer?.streamId === event.streamId) {
          this.#vodPlayer.player.pause(event.paused);
        }
        return;
      case "stop-play":
        if (this.#vodPlayer?.streamId === event.streamId) {
          this.#vodPlayer.player.stop();
          this.#vodPlayer = undefined;
          this.#ticket.mark(ConnState.Idle);
          this.#endAccessSession();
          return;
        }
        if (this.#playing?.streamId === event.streamId) {
          this.#playing.hub.removeViewer(this.#playing.viewer);
          this.#playing = undefined;
          this.#ticket.mark(ConnState.Idle);
          this.#endAccessSession();
        }
        return;
      case "connect":
        this.#stream = event.app;
        this.#app = event.app;
        this.#shared.connected?.();
        return;
      case "ignored":
        this.#log.debug("ignored", { peer: this.#peer, what: event.what });
        return;
      case "handshake":
        return;
    }
  }

  #refuse(
    kind: "publish" | "play",
    streamId: number,
    code: string,
    description: string,
    reason: RtmpRefusalReason,
  ): void {
    this.#shared.refused(kind, reason);
    if (kind === "publish") {
      this.#session.rejectPublish(streamId, code, description);
    } else this.#session.rejectPlay(streamId, code, description);
    this.#flushSession();
    this.#closeReason = `${kind} refused: ${code}`;
    this.#closeAfterFlush(this.#closeReason);
  }

  #onPublish(event: Extract<RtmpSessionEvent, { type: "publish" }>): void {
    this.#stream = `${event.app}/${event.name}`;
    if (this.#publishing || this.#playing || this.#vodPlayer || this.#pending) {
      return this.#refuse(
        "publish",
        event.streamId,
        "NetStream.Publish.BadConnection",
        "One publish or play per connection",
        "one_per_connection",
      );
    }
    // Refused before access control too, so a full origin spends no hook call or token use.
    if (this.#atStreamLimit(event.streamId)) return;
    const push = this.#shared.relay?.admitPush(event.relay);
    if (push?.kind === "refused") {
      return this.#refuse(
        "publish",
        event.streamId,
        "NetStream.Publish.Rejected",
        push.error.message,
        "relay",
      );
    }
    const chain = push?.kind === "relay" ? push.chain : undefined;
    this.#decide("publish", event.streamId, {
      action: "publish",
      app: event.app,
      name: event.name,
      params: event.params,
      peer: this.#peer,
    }, (session) => this.#startPublish(event, session, chain));
  }

  /** Refuses the publish when the origin holds `maxStreams` live streams; true if it did. */
  #atStreamLimit(streamId: number): boolean {
    const max = this.#shared.maxStreams;
    if (this.#registry.size < max) return false;
    this.#refuse(
      "publish",
      streamId,
      "NetStream.Publish.Rejected",
      `Cannot publish: the origin has its maximum of ${max} live streams`,
      "max_streams",
    );
    return true;
  }

  #startPublish(
    event: Extract<RtmpSessionEvent, { type: "publish" }>,
    session: RtmpAccessSession | undefined,
    chain: PublishChain,
  ): void {
    // Again after the decision: other publishes may have started while it ran.
    if (this.#atStreamLimit(event.streamId)) {
      session?.end();
      return;
    }
    let hub: Hub;
    try {
      hub = this.#registry.startPublish(event.app, event.name, {
        peer: this.#peer,
        protocol: "rtmp",
        ...(chain ? { chain } : {}),
      });
    } catch (err) {
      if (err instanceof StreamBusyError) {
        session?.end();
        return this.#refuse(
          "publish",
          event.streamId,
          "NetStream.Publish.BadName",
          "Stream already publishing",
          "busy",
        );
      }
      throw err;
    }
    this.#publishing = { hub, streamId: event.streamId };
    // An operator's kick (control's console, the origin's admin API) closes this connection.
    hub.onKick(() => this.close("kicked by an operator"));
    this.#kind = "publish";
    this.#ticket.mark(ConnState.Active);
    this.#accessSession = session;
    this.#session.acceptPublish(event.streamId);
    this.#log.info("publish started", {
      peer: this.#peer,
      stream: this.#stream,
    });
  }

  #onPlay(event: Extract<RtmpSessionEvent, { type: "play" }>): void {
    this.#stream = `${event.app}/${event.name}`;
    if (this.#publishing || this.#playing || this.#vodPlayer || this.#pending) {
      return this.#refuse(
        "play",
        event.streamId,
        "NetStream.Play.Failed",
        "One publish or play per connection",
        "one_per_connection",
      );
    }
    if (this.#shared.vod?.ownsApp(event.app)) return this.#onVodPlay(event);
    const relayed = this.#shared.relay?.admit(event.relay);
    if (relayed?.kind === "refused") {
      return this.#refuse(
        "play",
        event.streamId,
        "NetStream.Play.Failed",
        relayed.error.message,
        "relay",
      );
    }
    // A downstream relay that presented this node's secret checks its own viewers.
    const trusted = relayed?.kind === "relay" && relayed.trusted;
    const proceed = () => {
      if (trusted) {
        const named = authorizeRtmpAccess(this.#playRequest(event));
        if (!named.allowed) {
          return this.#refuse(
            "play",
            event.streamId,
            named.code,
            named.description,
            "bad_name",
          );
        }
        return this.#startPlay(event, undefined);
      }
      this.#decide(
        "play",
        event.streamId,
        this.#playRequest(event),
        (session) => this.#startPlay(event, session),
      );
    };
    // A stream that is not live is refused before access control, so no token use is spent.
    const hub = this.#registry.get(event.app, event.name);
    const named = authorizeRtmpAccess(this.#playRequest(event));
    if (named.allowed && (hub === undefined || !hub.live)) {
      if (!this.#registry.demandable(event.app)) {
        return this.#refuse(
          "play",
          event.streamId,
          "NetStream.Play.StreamNotFound",
          `Stream not found: ${this.#stream}`,
          "not_found",
        );
      }
      // Pulled from upstream on demand: the player waits (bounded) while the pull starts.
      const chain = relayed?.kind === "relay" ? relayed.chain : undefined;
      const waiting: Promise<void> = this.#registry.acquire(
        event.app,
        event.name,
        chain ? { chain } : {},
      ).then((got) => {
        if (this.#closed || this.#closing) return;
        if ("status" in got) {
          return this.#refuse(
            "play",
            event.streamId,
            got.status === 404
              ? "NetStream.Play.StreamNotFound"
              : "NetStream.Play.Failed",
            got.message,
            got.status === 404 ? "not_found" : "relay",
          );
        }
        proceed();
        this.#flushSession();
      }, (err) => this.close("relay pull failed", err)).finally(() => {
        // An access decision that `proceed` started is pending in its own right.
        if (this.#pending === waiting) this.#pending = undefined;
      });
      this.#pending = waiting;
      return;
    }
    proceed();
  }

  /**
   * A play of a library file: found and indexed first (a missing file is refused before access
   * control, so no token use is spent), then access as for live, then the player.
   */
  #onVodPlay(event: Extract<RtmpSessionEvent, { type: "play" }>): void {
    const vod = this.#shared.vod!;
    const streamId = event.streamId;
    this.#pending = (async () => {
      let media: MediaFile | undefined;
      try {
        media = await vod.rtmpMedia(event.app, event.name);
      } catch (e) {
        return this.#refuse(
          "play",
          streamId,
          "NetStream.Play.Failed",
          e instanceof Error ? e.message : String(e),
          "not_found",
        );
      }
      if (this.#closed || this.#closing) return;
      if (!media) {
        return this.#refuse(
          "play",
          streamId,
          "NetStream.Play.StreamNotFound",
          `File not found: ${this.#stream}`,
          "not_found",
        );
      }
      let session: RtmpAccessSession | undefined;
      if (this.#access) {
        const decision = await this.#access.authorize({
          action: "play",
          app: event.app,
          name: media.file.relPath,
          params: event.params,
          peer: this.#peer,
        });
        if (this.#closed || this.#closing) {
          if (decision.allowed) decision.session?.end();
          return;
        }
        if (!decision.allowed) {
          return this.#refuse(
            "play",
            streamId,
            decision.code,
            decision.description,
            "denied",
          );
        }
        session = decision.session;
      }
      this.#startVodPlay(event, media, session);
      this.#flushSession();
    })().catch((err) => this.close("vod play failed", err)).finally(() => {
      this.#pending = undefined;
    });
  }

  #startVodPlay(
    event: Extract<RtmpSessionEvent, { type: "play" }>,
    media: MediaFile,
    session: RtmpAccessSession | undefined,
  ): void {
    const streamId = event.streamId;
    this.#session.acceptPlay(streamId);
    this.#flushSession();
    const chunk = this.#options.outChunkSize;
    const rewrite = streamId === RTMP_MEDIA_STREAM_ID
      ? undefined
      : createStreamIdRewriter(streamId, chunk);
    const player = new VodRtmpPlayer(media, {
      tag: (tag) => {
        if (this.#closed || this.#closing) return;
        const bytes = encodeRtmpMediaTag(tag, chunk);
        this.#writer.enqueue(rewrite ? rewrite(bytes) : bytes);
      },
      status: (code, description) => {
        if (code === "NetStream.Play.Start") return; // acceptPlay sent it
        this.#session.playerStatus(streamId, code, description);
        this.#flushSession();
      },
      playStatus: (_code, durationMs) => {
        this.#session.playComplete(streamId, durationMs);
        this.#flushSession();
      },
      ready: () => this.#writer.queuedBytes < VOD_QUEUE_BYTES,
    }, {
      startMs: event.startMs > 0 ? event.startMs : 0,
      durationMs: event.durationMs >= 0 ? event.durationMs : undefined,
      burstMs: VOD_BURST_MS,
    });
    this.#vodPlayer = { player, streamId };
    this.#kind = "vod";
    this.#ticket.mark(ConnState.Active);
    this.#accessSession = session;
    session?.watch(() => this.close("access token revoked"));
    this.#log.info("vod play started", {
      peer: this.#peer,
      file: media.file.relPath,
      startMs: event.startMs,
    });
    player.start();
  }

  #playRequest(
    event: Extract<RtmpSessionEvent, { type: "play" }>,
  ): RtmpAccessRequest {
    return {
      action: "play",
      app: event.app,
      name: event.name,
      params: event.params,
      peer: this.#peer,
    };
  }

  #startPlay(
    event: Extract<RtmpSessionEvent, { type: "play" }>,
    session: RtmpAccessSession | undefined,
  ): void {
    const hub = this.#registry.get(event.app, event.name);
    if (hub === undefined || !hub.live) {
      session?.end();
      return this.#refuse(
        "play",
        event.streamId,
        "NetStream.Play.StreamNotFound",
        `Stream not found: ${this.#stream}`,
        "not_found",
      );
    }
    this.#session.acceptPlay(event.streamId);
    // Status first, then the hub's start-up burst: both go through the same queue in order.
    this.#flushSession();
    const streamId = event.streamId;
    const rewrite = streamId === RTMP_MEDIA_STREAM_ID
      ? undefined
      : createStreamIdRewriter(streamId, this.#options.outChunkSize);
    const cap = this.#options.maxViewerQueueBytes;
    let overflowed = false;
    const viewer: Viewer = {
      format: "rtmp",
      id: `${this.#peer}#${this.#id}`,
      write: (bytes: Uint8Array): boolean => {
        if (this.#closed || this.#closing) return false;
        // `bytes` is shared with other players: never mutated, only queued or re-encoded.
        if (this.#writer.enqueue(rewrite ? rewrite(bytes) : bytes, cap)) {
          return true;
        }
        overflowed = true;
        this.close(`player too slow: over ${cap} queued bytes`);
        return false;
      },
      close: (reason: string): void => {
        this.#playing = undefined;
        this.#endAccessSession();
        if (overflowed || this.#closed) return this.close(reason);
        this.#session.endPlay(streamId);
        this.#flushSession();
        this.#closeAfterFlush(reason);
      },
    };
    this.#playing = { hub, viewer, streamId };
    this.#kind = "play";
    this.#ticket.mark(ConnState.Active);
    this.#accessSession = session;
    session?.watch(() => this.close("access token revoked"));
    this.#log.info("play started", { peer: this.#peer, stream: this.#stream });
    hub.addViewer(viewer);
  }
}
