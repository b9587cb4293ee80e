/**
 * The client side of one RTMP connection as an I/O-free state machine (the counterpart of the
 * origin's server session): handshake, `connect`, `createStream`, then `play` or `publish`;
 * media in (a pull) or out (a push), acknowledgements and pings answered.
 *
 * Relay pulls from an upstream origin, pushes to another origin or a platform's ingest URL and
 * the transcoder's feeds all use it; the socket around it is the caller's. Bytes go in through
 * {@link RtmpClientSession.receive}, events come out through `onEvent` synchronously, and what
 * to send is taken with {@link RtmpClientSession.takeOutput}. No clock: timeouts are the
 * caller's.
 *
 * @module
 */

import { amf0Properties, type Amf0Value } from "../../codec/amf0/mod.ts";
import { concatBytes } from "../../codec/bytes/concat.ts";
import { FlvTagType } from "../../codec/flv/types.ts";
import type { FlvTag } from "../../codec/flv/types.ts";
import {
  decodeAggregate,
  decodeCommand,
  decodeDataMessage,
  decodeUserControl,
  decodeWindowAckSize,
  encodeAcknowledgement,
  encodeCommand,
  encodeDataMessage,
  encodeRtmpMessage,
  encodeSetChunkSize,
  encodeUserControl,
  type OutgoingRtmpMessage,
  RTMP_DEFAULT_CHUNK_SIZE,
  RtmpChunkReader,
  RtmpChunkStream,
  RtmpClientHandshake,
  RtmpErrorCode,
  type RtmpMessage,
  RtmpMessageType,
  RtmpProtocolError,
  UserControlEvent,
} from "../../codec/rtmp/mod.ts";

/** What the session tells its owner. */
export type RtmpClientEvent =
  /** The server accepted `connect`. */
  | { readonly type: "connected" }
  /** `play` started (NetStream.Play.Start) or `publish` did (NetStream.Publish.Start). */
  | { readonly type: "started"; readonly code: string }
  /** A media tag (a pull), or `onMetaData` as a script tag. */
  | { readonly type: "media"; readonly tag: FlvTag }
  /** Any other onStatus, e.g. NetStream.Play.UnpublishNotify or Stop. */
  | {
    readonly type: "status";
    readonly level: string;
    readonly code: string;
    readonly description: string;
  }
  /** The server refused (an `_error`, or an error-level onStatus): the session is over. */
  | {
    readonly type: "refused";
    readonly code: string;
    readonly description: string;
  };

/** Options of {@link RtmpClientSession}. */
export interface RtmpClientOptions {
  readonly mode: "play" | "publish";
  /** `rtmp://host:port/app[?query]`, as `connect` sends it. */
  readonly tcUrl: string;
  /** The application (the first path segment of the URL, with any query). */
  readonly app: string;
  /** The stream name (with any query, such as `?key=` or a platform's stream key). */
  readonly stream: string;
  /** Our outgoing chunk size, announced before media. @default 4096 */
  readonly outChunkSize?: number;
  /** Buffer length asked for when playing, ms (SetBufferLength). @default 1000 */
  readonly bufferMs?: number;
  readonly onEvent: (event: RtmpClientEvent) => void;
  /** A digest C1, as Flash and FFmpeg send (some servers want it). @default true */
  readonly digest?: boolean;
  /** `flashVer` sent in `connect`. @default "FMLE/3.0 (compatible; Meridian)" */
  readonly flashVer?: string;
  /**
   * More properties of the `connect` command object (§7.2.1.1 lets a client add its own): a
   * relay pull's hop count and shared secret travel there, outside every stream name.
   */
  readonly connectFields?: Readonly<Record<string, Amf0Value>>;
}

type Phase =
  | "handshake"
  | "connecting"
  | "creating"
  | "starting"
  | "started"
  | "over";

const TXN = { connect: 1, createStream: 2 } as const;

/**
 * An RTMP client connection without I/O.
 *
 * @example
 * ```ts ignore
 * const s = new RtmpClientSession({ mode: "play", tcUrl, app: "live", stream: "cam1", onEvent });
 * await conn.write(s.start());
 * for await (const bytes of conn.readable) {
 *   s.receive(bytes);
 *   for (const out of s.takeOutput()) await conn.write(out);
 * }
 * ```
 */
export class RtmpClientSession {
  readonly #opts: RtmpClientOptions;
  readonly #handshake: RtmpClientHandshake;
  readonly #reader = new RtmpChunkReader();
  readonly #outChunkSize: number;
  #out: Uint8Array[] = [];
  #phase: Phase = "handshake";
  #streamId = 0;
  #bytesReceived = 0;
  #lastAckAt = 0;
  #peerWindow = 0;

  constructor(options: RtmpClientOptions) {
    this.#opts = options;
    this.#handshake = new RtmpClientHandshake({
      digest: options.digest ?? true,
    });
    // Not config: a client's own parameters, chosen by whoever opens the session (tests, a
    // relay); the documented defaults are the protocol's usual values.
    this.#outChunkSize = options.outChunkSize ?? 4096;
  }

  /** Where the session is. */
  get phase(): Phase {
    return this.#phase;
  }

  /** The message stream `play`/`publish` went out on (0 before `createStream`). */
  get streamId(): number {
    return this.#streamId;
  }

  /** C0+C1: the first bytes to send. */
  start(): Uint8Array {
    return this.#handshake.start();
  }

  /** Bytes to send now, in order (the list is emptied). */
  takeOutput(): Uint8Array[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /**
   * Takes bytes from the server.
   *
   * @throws {RtmpProtocolError} On malformed input; the connection is then over.
   */
  receive(bytes: Uint8Array): void {
    if (this.#phase === "over") return;
    this.#bytesReceived += bytes.byteLength;
    let rest = bytes;
    if (this.#phase === "handshake") {
      const step = this.#handshake.push(bytes);
      if (!step.done) return;
      this.#out.push(step.output!);
      this.#phase = "connecting";
      this.#sendConnect();
      rest = step.rest;
    }
    for (const m of this.#reader.push(rest)) {
      this.#handle(m);
      if ((this.#phase as Phase) === "over") return;
    }
    if (
      this.#peerWindow > 0 &&
      this.#bytesReceived - this.#lastAckAt >= this.#peerWindow
    ) {
      this.#lastAckAt = this.#bytesReceived;
      this.#send(encodeAcknowledgement(this.#bytesReceived));
    }
  }

  /**
   * Sends one tag of a publish (audio, video, or `onMetaData` as a script tag, sent as
   * `@setDataFrame`). Only once started.
   */
  publishTag(tag: FlvTag): void {
    if (this.#phase !== "started" || this.#opts.mode !== "publish") {
      throw new RtmpProtocolError(
        RtmpErrorCode.BadCommand,
        `Cannot publish a tag: the session is ${this.#phase}, not a started publish`,
      );
    }
    if (tag.type === FlvTagType.Script) {
      const values = decodeDataMessage(tag.data, RtmpMessageType.DataAmf0);
      this.#send(
        encodeDataMessage(
          this.#streamId,
          tag.timestampMs,
          "@setDataFrame",
          ...values,
        ),
      );
      return;
    }
    this.#send({
      csid: tag.type === FlvTagType.Video
        ? RtmpChunkStream.Video
        : RtmpChunkStream.Audio,
      typeId: tag.type,
      streamId: this.#streamId,
      timestampMs: tag.timestampMs,
      payload: tag.data,
    });
  }

  /** Ends the session politely (FCUnpublish/deleteStream); send what {@link takeOutput} gives. */
  close(): void {
    if (this.#phase === "over") return;
    if (this.#streamId > 0) {
      if (this.#opts.mode === "publish") {
        this.#command("FCUnpublish", 0, null, [this.#opts.stream]);
      }
      this.#command("deleteStream", 0, null, [this.#streamId]);
    }
    this.#phase = "over";
  }

  #send(m: OutgoingRtmpMessage): void {
    // Control messages go out before our chunk size is announced, at the default.
    const size = this.#phase === "handshake"
      ? RTMP_DEFAULT_CHUNK_SIZE
      : this.#chunkSizeOut;
    this.#out.push(encodeRtmpMessage(m, size));
  }

  #chunkSizeOut = RTMP_DEFAULT_CHUNK_SIZE;

  #command(
    name: string,
    txn: number,
    obj: Amf0Value,
    args: Amf0Value[],
    streamId = 0,
  ): void {
    this.#send(
      encodeCommand(
        { name, transactionId: txn, commandObject: obj, args },
        streamId,
      ),
    );
  }

  #sendConnect(): void {
    this.#send(encodeSetChunkSize(this.#outChunkSize));
    this.#chunkSizeOut = this.#outChunkSize;
    const publish = this.#opts.mode === "publish";
    this.#command("connect", TXN.connect, {
      app: this.#opts.app,
      type: "nonprivate",
      flashVer: this.#opts.flashVer ?? "FMLE/3.0 (compatible; Meridian)",
      tcUrl: this.#opts.tcUrl,
      ...(publish ? {} : {
        fpad: false,
        capabilities: 15,
        audioCodecs: 3575,
        videoCodecs: 252,
        videoFunction: 1,
      }),
      ...this.#opts.connectFields,
    }, []);
  }

  #handle(m: RtmpMessage): void {
    switch (m.typeId) {
      case RtmpMessageType.WindowAckSize:
        this.#peerWindow = decodeWindowAckSize(m.payload);
        return;
      case RtmpMessageType.UserControl: {
        const uc = decodeUserControl(m.payload);
        if (uc.event === UserControlEvent.PingRequest) {
          this.#send(
            encodeUserControl(UserControlEvent.PingResponse, uc.value),
          );
        }
        return;
      }
      case RtmpMessageType.CommandAmf0:
      case RtmpMessageType.CommandAmf3:
        return this.#onCommand(m);
      case RtmpMessageType.Audio:
      case RtmpMessageType.Video:
        if (this.#opts.mode === "play" && m.payload.byteLength > 0) {
          this.#opts.onEvent({
            type: "media",
            tag: {
              type: m.typeId,
              timestampMs: m.timestampMs,
              data: m.payload,
            },
          });
        }
        return;
      case RtmpMessageType.Aggregate:
        if (this.#opts.mode === "play") {
          for (const tag of decodeAggregate(m.payload, m.timestampMs)) {
            this.#opts.onEvent({ type: "media", tag });
          }
        }
        return;
      case RtmpMessageType.DataAmf0:
      case RtmpMessageType.DataAmf3:
        if (this.#opts.mode === "play") this.#onData(m);
        return;
      default:
        return; // chunk size and abort were applied by the reader; the rest needs nothing
    }
  }

  #onData(m: RtmpMessage): void {
    const body = m.typeId === RtmpMessageType.DataAmf3 && m.payload[0] === 0
      ? m.payload.subarray(1)
      : m.payload;
    const values = decodeDataMessage(m.payload, m.typeId);
    const name = values[0] === "@setDataFrame" ? values[1] : values[0];
    if (name !== "onMetaData") return;
    // Re-encoded as the FLV script tag a file or HTTP-FLV viewer would get.
    const data = values[0] === "@setDataFrame"
      ? encodeDataMessage(0, 0, ...values.slice(1)).payload
      : body;
    this.#opts.onEvent({
      type: "media",
      tag: { type: FlvTagType.Script, timestampMs: m.timestampMs, data },
    });
  }

  #onCommand(m: RtmpMessage): void {
    const c = decodeCommand(m.payload, m.typeId);
    if (c.name === "_error") {
      const info = amf0Properties(c.args[0] ?? null);
      this.#refuse(
        String(info?.code ?? "NetConnection.Call.Failed"),
        String(info?.description ?? c.name),
      );
      return;
    }
    if (c.name === "_result") {
      if (c.transactionId === TXN.connect && this.#phase === "connecting") {
        this.#opts.onEvent({ type: "connected" });
        this.#phase = "creating";
        if (this.#opts.mode === "publish") {
          this.#command("releaseStream", 0, null, [this.#opts.stream]);
          this.#command("FCPublish", 0, null, [this.#opts.stream]);
        }
        this.#command("createStream", TXN.createStream, null, []);
      } else if (
        c.transactionId === TXN.createStream && this.#phase === "creating"
      ) {
        const id = c.args[0];
        if (
          typeof id !== "number" || !Number.isInteger(id) || id <= 0 ||
          id > 0xffff
        ) {
          this.#refuse(
            "NetConnection.Call.Failed",
            `createStream answered ${String(id)}`,
          );
          return;
        }
        this.#streamId = id;
        this.#phase = "starting";
        if (this.#opts.mode === "play") {
          this.#command("play", 0, null, [this.#opts.stream, -2000], id);
          const len = new Uint8Array(8);
          const v = new DataView(len.buffer);
          v.setUint32(0, id);
          v.setUint32(4, this.#opts.bufferMs ?? 1000);
          this.#send({
            csid: RtmpChunkStream.Control,
            typeId: RtmpMessageType.UserControl,
            streamId: 0,
            timestampMs: 0,
            payload: concatBytes([
              new Uint8Array([0, UserControlEvent.SetBufferLength]),
              len,
            ]),
          });
        } else {
          this.#command("publish", 0, null, [this.#opts.stream, "live"], id);
        }
      }
      return;
    }
    if (c.name === "onStatus") {
      const info = amf0Properties(c.args[0] ?? null);
      const level = String(info?.level ?? "status");
      const code = String(info?.code ?? "");
      const description = String(info?.description ?? "");
      if (level === "error") {
        this.#refuse(code, description);
        return;
      }
      if (
        this.#phase === "starting" &&
        (code === "NetStream.Play.Start" || code === "NetStream.Publish.Start")
      ) {
        this.#phase = "started";
        this.#opts.onEvent({ type: "started", code });
        return;
      }
      this.#opts.onEvent({ type: "status", level, code, description });
    }
    // onBWDone, onFCPublish, |RtmpSampleAccess and the like need no answer.
  }

  #refuse(code: string, description: string): void {
    this.#phase = "over";
    this.#opts.onEvent({ type: "refused", code, description });
  }
}
