/**
 * The server side of one RTMP connection as an I/O-free state machine: bytes in, events and
 * bytes out (the Node-Media-Server parser shape, typed).
 *
 * The session answers what the protocol alone decides (handshake, connect, createStream,
 * control messages, acknowledgements) and reports what needs the rest of the origin (publish,
 * play) as events; the server then calls {@link RtmpServerSession.acceptPublish} and friends.
 * Events go to an `onEvent` sink called synchronously inside `receive`, so the server's
 * decision on a publish applies to the very next media message in the same read.
 *
 * Why one file of some 750 lines: it is one state machine. Every command handler reads and
 * changes the same state (connected or not, the message streams and what each is doing, the
 * acknowledgement window), and the server's answers (`acceptPublish`, `rejectPlay` …) move
 * the same streams on; what is pure and stands alone already lives apart (chunks, handshake,
 * messages and name queries in `codec/rtmp/`, AMF0 in `codec/amf0/`).
 *
 * @module
 */

import type { FlvTag } from "../../codec/flv/types.ts";
import { FlvTagType } from "../../codec/flv/types.ts";
import {
  amf0Properties,
  type Amf0Value,
  encodeAmf0,
} from "../../codec/amf0/mod.ts";
import {
  type ChunkReaderOptions,
  decodeCommand,
  decodeDataMessage,
  decodeUserControl,
  decodeWindowAckSize,
  encodeAcknowledgement,
  encodeCommand,
  encodeDataMessage,
  encodeOnBwDone,
  encodeOnStatus,
  encodeResult,
  encodeRtmpMessage,
  encodeSampleAccess,
  encodeSetChunkSize,
  encodeSetPeerBandwidth,
  encodeUserControl,
  encodeWindowAckSize,
  type HandshakeOptions,
  type OutgoingRtmpMessage,
  PeerBandwidthLimitType,
  RTMP_DEFAULT_CHUNK_SIZE,
  RtmpChunkReader,
  RtmpErrorCode,
  type RtmpMessage,
  RtmpMessageType,
  type RtmpParams,
  RtmpProtocolError,
  RtmpServerHandshake,
  splitConnectQuery,
  splitQuery,
  UserControlEvent,
} from "../../codec/rtmp/mod.ts";
import { ByteReader, ShortReadError } from "../../codec/bytes/reader.ts";

/** Most early Acknowledgements one connection gets before its media flows. */
const MAX_SETUP_NUDGES = 16;

/** Window we ask clients to acknowledge at, bytes (what FMS and SRS send). */
export const DEFAULT_WINDOW_ACK_BYTES = 2_500_000;

/** Message streams (createStream) one connection may hold open; real clients use 1. */
export const MAX_STREAMS_PER_CONNECTION = 8;

/** The connect command object's property a relay pull carries its mark in. */
export const RTMP_RELAY_FIELD = "meridianRelay";

/** Longest string taken from a relay mark's fields (characters). */
const MAX_RELAY_FIELD_CHARS = 4096;

/** A relay pull's mark as `connect` carried it: strings and a number, not yet checked. */
export interface RawRelayMark {
  readonly hops: string;
  readonly via: string;
  readonly secret: string;
}

/** Events a session reports to its server. */
export type RtmpSessionEvent =
  | { readonly type: "handshake"; readonly digest: boolean }
  | {
    readonly type: "connect";
    readonly app: string;
    readonly tcUrl: string;
    readonly params: RtmpParams;
  }
  | {
    readonly type: "publish";
    readonly streamId: number;
    readonly app: string;
    readonly name: string;
    /** "live", "record" or "append"; we treat all as live. */
    readonly publishType: string;
    readonly params: RtmpParams;
    /** The `meridianRelay` property of `connect` (a relay push's chain), as sent. */
    readonly relay?: RawRelayMark;
  }
  | {
    readonly type: "play";
    readonly streamId: number;
    readonly app: string;
    readonly name: string;
    readonly params: RtmpParams;
    /**
     * `play`'s start argument, ms as FMS and FFmpeg send it: -2 (the default) live or recorded,
     * -1 live only, 0 or more a position in a recorded stream (VOD).
     */
    readonly startMs: number;
    /** `play`'s duration argument, ms: -1 (the default) to the end. */
    readonly durationMs: number;
    /**
     * The `meridianRelay` property of `connect` (a downstream relay's pull: its hop count,
     * chain of node ids and shared secret), as sent; checked by origin/relay/wire.ts.
     */
    readonly relay?: RawRelayMark;
  }
  /** `seek(ms)` on a playing stream (Flash `NetStream.seek`). */
  | { readonly type: "seek"; readonly streamId: number; readonly ms: number }
  /** `pause`/`pauseRaw`: paused or resumed at `ms`. */
  | {
    readonly type: "pause";
    readonly streamId: number;
    readonly paused: boolean;
    readonly ms: number;
  }
  /** The publisher stopped (FCUnpublish, closeStream or deleteStream). */
  | {
    readonly type: "unpublish";
    readonly streamId: number;
    readonly reason: string;
  }
  /** A player stopped (closeStream or deleteStream). */
  | {
    readonly type: "stop-play";
    readonly streamId: number;
    readonly reason: string;
  }
  /** Audio, video or `onMetaData` from an accepted publisher. */
  | { readonly type: "media"; readonly streamId: number; readonly tag: FlvTag }
  /** Something we do not act on, reported for debug logging. */
  | { readonly type: "ignored"; readonly what: string };

/** Options of {@link RtmpServerSession}. */
export interface RtmpSessionOptions {
  /** Our outgoing chunk size, announced after `connect`, bytes. */
  readonly outChunkSize: number;
  /** Window Acknowledgement Size we send, bytes. @default DEFAULT_WINDOW_ACK_BYTES */
  readonly windowAckBytes?: number;
  /** Set Peer Bandwidth we send, bytes. @default DEFAULT_WINDOW_ACK_BYTES */
  readonly peerBandwidthBytes?: number;
  /** Receives events, synchronously, in stream order. */
  readonly onEvent: (event: RtmpSessionEvent) => void;
  /** Handshake randomness and clock, for tests. */
  readonly handshake?: HandshakeOptions;
  /** Chunk reader limits. */
  readonly reader?: ChunkReaderOptions;
}

type StreamState =
  | { readonly kind: "idle" }
  | { readonly kind: "publish-requested" | "publishing"; readonly name: string }
  | { readonly kind: "play-requested" | "playing"; readonly name: string };

/**
 * The server side of one RTMP connection.
 *
 * @example
 * ```ts
 * import { RtmpServerSession, type RtmpSessionEvent } from "./session.ts";
 * import { RtmpClientHandshake } from "../../codec/rtmp/mod.ts";
 * import assert from "node:assert/strict";
 * const events: RtmpSessionEvent[] = [];
 * const session = new RtmpServerSession({ outChunkSize: 4096, onEvent: (e) => events.push(e) });
 * const client = new RtmpClientHandshake();
 * session.receive(client.start());
 * const [s0s1s2] = session.takeOutput();
 * session.receive(client.push(s0s1s2!).output!);
 * assert.deepEqual(events, [{ type: "handshake", digest: false }]);
 * ```
 */
export class RtmpServerSession {
  #handshake: RtmpServerHandshake;
  #reader: RtmpChunkReader;
  #onEvent: (event: RtmpSessionEvent) => void;
  #output: Uint8Array[] = [];
  #outChunkSize = RTMP_DEFAULT_CHUNK_SIZE;
  #configuredChunkSize: number;
  #windowAckBytes: number;
  #peerBandwidthBytes: number;
  #bytesReceived = 0;
  /** Early Acknowledgements sent during the command phase (see `receive`). */
  #setupNudges = 0;
  #lastAckAt = 0;
  #peerWindowAckBytes = 0;
  #connected = false;
  #app = "";
  #tcUrl = "";
  #relay: RawRelayMark | undefined;
  #connectParams: Record<string, string> = {};
  #streams = new Map<number, StreamState>();
  #nextStreamId = 1;

  constructor(options: RtmpSessionOptions) {
    this.#handshake = new RtmpServerHandshake(options.handshake);
    this.#reader = new RtmpChunkReader(options.reader);
    this.#onEvent = options.onEvent;
    this.#configuredChunkSize = options.outChunkSize;
    this.#windowAckBytes = options.windowAckBytes ?? DEFAULT_WINDOW_ACK_BYTES;
    this.#peerBandwidthBytes = options.peerBandwidthBytes ??
      DEFAULT_WINDOW_ACK_BYTES;
    // Fail at construction, not on the first connect, for a bad configured chunk size.
    encodeSetChunkSize(options.outChunkSize);
  }

  /** The app from `connect`, without its query ("" before connect). */
  get app(): string {
    return this.#app;
  }

  /** The tcUrl from `connect` ("" before connect or when absent). */
  get tcUrl(): string {
    return this.#tcUrl;
  }

  /** Total bytes fed to `receive`. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** True once the handshake is complete. */
  get handshakeDone(): boolean {
    return this.#handshake.done;
  }

  /**
   * Feeds bytes from the client. Events go to `onEvent` before this returns.
   *
   * @param bytes Any slice of the stream; not retained.
   * @throws {RtmpProtocolError} When the client breaks the protocol: close the connection.
   */
  receive(bytes: Uint8Array): void {
    this.#bytesReceived += bytes.byteLength;
    let rest = bytes;
    if (!this.#handshake.done) {
      const step = this.#handshake.push(bytes);
      if (step.output) this.#output.push(step.output);
      if (!step.done) return;
      this.#onEvent({ type: "handshake", digest: this.#handshake.usedDigest });
      rest = step.rest;
    }
    let completed = 0;
    if (rest.byteLength > 0) {
      for (const message of this.#reader.push(rest)) {
        completed++;
        this.#handle(message);
      }
    }
    this.#maybeAcknowledge();
    if (
      completed === 0 && rest.byteLength > 0 && this.#output.length === 0 &&
      this.#setupNudges < MAX_SETUP_NUDGES && !this.#mediaFlowing()
    ) {
      // A client that writes a command's chunk header and its body in two writes without
      // TCP_NODELAY (ffmpeg does) holds the body back (Nagle) until the header is ACKed, and
      // our kernel delays that ACK ~40 ms because we had nothing to say: three such pauses
      // made publish start ~120 ms late. Any bytes from us carry the ACK at once, so answer a
      // partial message during the command phase with an Acknowledgement (§5.4.3, harmless
      // to send early; bounded per connection).
      this.#setupNudges++;
      this.#send(encodeAcknowledgement(this.#bytesReceived));
    }
  }

  /** True once a stream of this connection publishes or plays. */
  #mediaFlowing(): boolean {
    for (const s of this.#streams.values()) {
      if (s.kind === "publishing" || s.kind === "playing") return true;
    }
    return false;
  }

  /** Returns and clears the bytes queued for the client. */
  takeOutput(): Uint8Array[] {
    const out = this.#output;
    this.#output = [];
    return out;
  }

  /** Accepts a publish request: the stream's media events start flowing. */
  acceptPublish(streamId: number): void {
    const state = this.#streams.get(streamId);
    if (state?.kind !== "publish-requested") return;
    this.#streams.set(streamId, { kind: "publishing", name: state.name });
    this.#send(encodeOnStatus(streamId, {
      level: "status",
      code: "NetStream.Publish.Start",
      description: `${state.name} is now published`,
      extra: { details: state.name },
    }));
  }

  /** Refuses a publish request with an error `onStatus` (e.g. `NetStream.Publish.BadName`). */
  rejectPublish(streamId: number, code: string, description: string): void {
    this.#reject(streamId, code, description);
  }

  /**
   * Accepts a play request: StreamBegin, `NetStream.Play.Reset`, `NetStream.Play.Start` and
   * `|RtmpSampleAccess`, in the order FMS sends them. Media bytes may follow.
   */
  acceptPlay(streamId: number): void {
    const state = this.#streams.get(streamId);
    if (state?.kind !== "play-requested") return;
    this.#streams.set(streamId, { kind: "playing", name: state.name });
    this.#send(encodeUserControl(UserControlEvent.StreamBegin, streamId));
    this.#send(encodeOnStatus(streamId, {
      level: "status",
      code: "NetStream.Play.Reset",
      description: `Playing and resetting ${state.name}`,
      extra: { details: state.name },
    }));
    this.#send(encodeOnStatus(streamId, {
      level: "status",
      code: "NetStream.Play.Start",
      description: `Started playing ${state.name}`,
      extra: { details: state.name },
    }));
    this.#send(encodeSampleAccess(streamId));
  }

  /** Refuses a play request (e.g. `NetStream.Play.StreamNotFound`). */
  rejectPlay(streamId: number, code: string, description: string): void {
    this.#reject(streamId, code, description);
  }

  /** Tells a player the stream ended: `NetStream.Play.UnpublishNotify` and StreamEOF. */
  endPlay(streamId: number): void {
    const state = this.#streams.get(streamId);
    if (state?.kind !== "playing") return;
    this.#streams.set(streamId, { kind: "idle" });
    this.#send(encodeOnStatus(streamId, {
      level: "status",
      code: "NetStream.Play.UnpublishNotify",
      description: `${state.name} is now unpublished`,
    }));
    this.#send(encodeUserControl(UserControlEvent.StreamEof, streamId));
  }

  /**
   * An onStatus to a player of a recorded stream (VOD): `NetStream.Seek.Notify`,
   * `NetStream.Pause.Notify`, `NetStream.Play.Stop`, `NetStream.Play.Failed`, ... A seek is
   * followed by `NetStream.Play.Start` and StreamBegin, as FMS does, so the player restarts its
   * buffer at the new position.
   */
  playerStatus(streamId: number, code: string, description: string): void {
    const state = this.#streams.get(streamId);
    if (state?.kind !== "playing") return;
    const level = code.endsWith(".Failed") ? "error" : "status";
    this.#send(encodeOnStatus(streamId, { level, code, description }));
    if (code === "NetStream.Seek.Notify") {
      this.#send(encodeUserControl(UserControlEvent.StreamBegin, streamId));
      this.#send(encodeOnStatus(streamId, {
        level: "status",
        code: "NetStream.Play.Start",
        description: `Started playing ${state.name}`,
      }));
    }
  }

  /**
   * The end of a recorded stream: `onPlayStatus` with `NetStream.Play.Complete` (a data message,
   * as Flash players read it) and StreamEOF.
   */
  playComplete(streamId: number, durationMs: number): void {
    const state = this.#streams.get(streamId);
    if (state?.kind !== "playing") return;
    this.#send(encodeDataMessage(streamId, 0, "onPlayStatus", {
      level: "status",
      code: "NetStream.Play.Complete",
      duration: durationMs / 1000,
      bytes: 0,
    }));
    this.#send(encodeUserControl(UserControlEvent.StreamEof, streamId));
  }

  #reject(streamId: number, code: string, description: string): void {
    this.#streams.set(streamId, { kind: "idle" });
    this.#send(encodeOnStatus(streamId, { level: "error", code, description }));
  }

  #send(message: OutgoingRtmpMessage): void {
    this.#output.push(encodeRtmpMessage(message, this.#outChunkSize));
  }

  /** §5.4.3: acknowledge once the bytes since the last ack reach the peer's window. */
  #maybeAcknowledge(): void {
    if (this.#peerWindowAckBytes <= 0) return;
    if (this.#bytesReceived - this.#lastAckAt >= this.#peerWindowAckBytes) {
      this.#lastAckAt = this.#bytesReceived;
      this.#send(encodeAcknowledgement(this.#bytesReceived));
    }
  }

  #handle(message: RtmpMessage): void {
    switch (message.typeId) {
      case RtmpMessageType.SetChunkSize:
      case RtmpMessageType.Abort:
      case RtmpMessageType.Acknowledgement:
      case RtmpMessageType.SetPeerBandwidth:
        // Chunk size and abort were applied by the reader; acks and peer bandwidth need nothing.
        return;
      case RtmpMessageType.WindowAckSize:
        this.#peerWindowAckBytes = decodeWindowAckSize(message.payload);
        return;
      case RtmpMessageType.UserControl:
        return this.#handleUserControl(message);
      case RtmpMessageType.CommandAmf0:
      case RtmpMessageType.CommandAmf3:
        return this.#handleCommand(message);
      case RtmpMessageType.DataAmf0:
      case RtmpMessageType.DataAmf3:
        return this.#handleData(message);
      case RtmpMessageType.Audio:
      case RtmpMessageType.Video:
        return this.#handleMedia(message);
      case RtmpMessageType.Aggregate:
        return this.#handleAggregate(message);
      default:
        this.#onEvent({
          type: "ignored",
          what: `message type ${message.typeId}`,
        });
    }
  }

  #handleUserControl(message: RtmpMessage): void {
    const uc = decodeUserControl(message.payload);
    if (uc.event === UserControlEvent.PingRequest) {
      this.#send(encodeUserControl(UserControlEvent.PingResponse, uc.value));
    }
  }

  #isPublishing(streamId: number): boolean {
    return this.#streams.get(streamId)?.kind === "publishing";
  }

  #handleMedia(message: RtmpMessage): void {
    if (!this.#isPublishing(message.streamId)) {
      this.#onEvent({
        type: "ignored",
        what: `media on stream ${message.streamId} that is not publishing`,
      });
      return;
    }
    // Some encoders send empty audio/video messages as keep-alives; no tag can be empty.
    if (message.payload.byteLength === 0) return;
    this.#onEvent({
      type: "media",
      streamId: message.streamId,
      tag: {
        type: message.typeId as
          | typeof FlvTagType.Audio
          | typeof FlvTagType.Video,
        timestampMs: message.timestampMs,
        data: message.payload,
      },
    });
  }

  /**
   * Aggregate messages (§7.1.6) carry FLV tags back to back, each with an 11-byte header and a
   * 4-byte back pointer; sub-tag timestamps are relative to the first one.
   */
  #handleAggregate(message: RtmpMessage): void {
    if (!this.#isPublishing(message.streamId)) {
      this.#onEvent({
        type: "ignored",
        what: `aggregate on stream ${message.streamId} that is not publishing`,
      });
      return;
    }
    const reader = new ByteReader(message.payload);
    let base: number | undefined;
    try {
      while (reader.remaining > 0) {
        const type = reader.u8();
        const size = reader.u24();
        const ts = (reader.u24() | (reader.u8() << 24)) >>> 0;
        reader.skip(3); // stream id, always 0 in FLV
        const data = reader.take(size);
        reader.skip(4); // previous tag size
        base ??= ts;
        if (
          type !== FlvTagType.Audio && type !== FlvTagType.Video || size === 0
        ) continue;
        this.#onEvent({
          type: "media",
          streamId: message.streamId,
          tag: {
            type,
            timestampMs: (message.timestampMs + ts - base + 0x100000000) %
              0x100000000,
            data,
          },
        });
      }
    } catch (err) {
      if (!(err instanceof ShortReadError)) throw err;
      throw new RtmpProtocolError(
        RtmpErrorCode.BadAggregate,
        `Cannot decode aggregate message: sub-tag runs past its ${message.payload.byteLength}-byte body`,
        { cause: err },
      );
    }
  }

  #handleData(message: RtmpMessage): void {
    const values = decodeDataMessage(message.payload, message.typeId);
    let [name, ...rest] = values;
    // FFmpeg and OBS send `@setDataFrame("onMetaData", {...})`; players expect `onMetaData`.
    if (name === "@setDataFrame") [name, ...rest] = rest;
    if (name !== "onMetaData") {
      this.#onEvent({ type: "ignored", what: `data message ${String(name)}` });
      return;
    }
    if (!this.#isPublishing(message.streamId)) {
      this.#onEvent({
        type: "ignored",
        what: `metadata on stream ${message.streamId} that is not publishing`,
      });
      return;
    }
    const metadata = rest[0] ?? null;
    this.#onEvent({
      type: "media",
      streamId: message.streamId,
      tag: {
        type: FlvTagType.Script,
        timestampMs: message.timestampMs,
        data: encodeAmf0("onMetaData", metadata),
      },
    });
  }

  #handleCommand(message: RtmpMessage): void {
    const cmd = decodeCommand(message.payload, message.typeId);
    const txn = cmd.transactionId;
    switch (cmd.name) {
      case "connect":
        return this.#connect(txn, cmd.commandObject);
      case "createStream":
        return this.#createStream(txn);
      case "releaseStream":
        this.#requireConnected(cmd.name);
        this.#send(encodeResult(txn, null, undefined));
        return;
      case "FCPublish":
        this.#requireConnected(cmd.name);
        this.#send(encodeCommand({
          name: "onFCPublish",
          transactionId: 0,
          commandObject: null,
          args: [{
            code: "NetStream.Publish.Start",
            description: stringArg(cmd.args[0]),
          }],
        }));
        this.#send(encodeResult(txn, null, undefined));
        return;
      case "FCUnpublish": {
        this.#requireConnected(cmd.name);
        const { name } = splitQuery(stringArg(cmd.args[0]));
        this.#send(encodeCommand({
          name: "onFCUnpublish",
          transactionId: 0,
          commandObject: null,
          args: [{ code: "NetStream.Unpublish.Success", description: name }],
        }));
        this.#send(encodeResult(txn, null, undefined));
        for (const [id, s] of this.#streams) {
          if (s.kind === "publishing" && s.name === name) {
            this.#stopStream(id, "FCUnpublish");
          }
        }
        return;
      }
      case "publish":
        return this.#publish(message.streamId, cmd.args);
      case "play":
        return this.#play(message.streamId, cmd.args);
      case "seek":
      case "pause":
      case "pauseRaw": {
        const state = this.#streams.get(message.streamId);
        if (state?.kind !== "playing") {
          this.#onEvent({
            type: "ignored",
            what: `${cmd.name} on a stream not playing`,
          });
          return;
        }
        if (cmd.name === "seek") {
          const ms = numberArg(cmd.args[0], 0);
          this.#onEvent({
            type: "seek",
            streamId: message.streamId,
            ms: Math.max(0, ms),
          });
        } else {
          this.#onEvent({
            type: "pause",
            streamId: message.streamId,
            paused: cmd.args[0] === true,
            ms: Math.max(0, numberArg(cmd.args[1], 0)),
          });
        }
        return;
      }
      case "deleteStream": {
        const id = typeof cmd.args[0] === "number"
          ? cmd.args[0]
          : message.streamId;
        this.#stopStream(id, "deleteStream");
        this.#streams.delete(id);
        return;
      }
      case "closeStream":
        this.#stopStream(message.streamId, "closeStream");
        return;
      default:
        this.#onEvent({ type: "ignored", what: `command ${cmd.name}` });
    }
  }

  #requireConnected(command: string): void {
    if (!this.#connected) {
      throw new RtmpProtocolError(
        RtmpErrorCode.UnexpectedCommand,
        `Cannot handle ${command}: the client has not sent connect`,
      );
    }
  }

  #connect(txn: number, commandObject: Amf0Value): void {
    if (this.#connected) {
      throw new RtmpProtocolError(
        RtmpErrorCode.UnexpectedCommand,
        "Cannot handle connect: the connection is already connected",
      );
    }
    const props = amf0Properties(commandObject);
    if (props === undefined || typeof props.app !== "string") {
      throw new RtmpProtocolError(
        RtmpErrorCode.BadCommand,
        "Cannot handle connect: the command object has no string 'app'",
      );
    }
    const tcUrl = typeof props.tcUrl === "string" ? props.tcUrl : "";
    const target = splitConnectQuery(props.app, tcUrl);
    this.#connected = true;
    this.#app = target.app;
    this.#tcUrl = tcUrl;
    this.#connectParams = target.params;
    this.#relay = rawRelayMark(props[RTMP_RELAY_FIELD]);
    // The reply sequence FMS sends (§7.2.1.1 example): window, bandwidth, chunk size, result.
    this.#send(encodeWindowAckSize(this.#windowAckBytes));
    this.#send(
      encodeSetPeerBandwidth(
        this.#peerBandwidthBytes,
        PeerBandwidthLimitType.Dynamic,
      ),
    );
    this.#send(encodeSetChunkSize(this.#configuredChunkSize));
    this.#outChunkSize = this.#configuredChunkSize;
    this.#send(encodeResult(
      txn,
      { fmsVer: "FMS/3,0,1,123", capabilities: 31 },
      {
        level: "status",
        code: "NetConnection.Connect.Success",
        description: "Connection succeeded",
        // We speak AMF0 only; an AMF3 client falls back to it when told 0.
        objectEncoding: 0,
      },
    ));
    this.#send(encodeOnBwDone());
    this.#onEvent({
      type: "connect",
      app: this.#app,
      tcUrl,
      params: { ...this.#connectParams },
    });
  }

  #createStream(txn: number): void {
    this.#requireConnected("createStream");
    if (this.#streams.size >= MAX_STREAMS_PER_CONNECTION) {
      throw new RtmpProtocolError(
        RtmpErrorCode.UnexpectedCommand,
        `Cannot handle createStream: ${this.#streams.size} streams open, limit ${MAX_STREAMS_PER_CONNECTION}`,
      );
    }
    const id = this.#nextStreamId++;
    this.#streams.set(id, { kind: "idle" });
    this.#send(encodeResult(txn, null, id));
  }

  #streamFor(command: string, streamId: number): StreamState {
    this.#requireConnected(command);
    const state = this.#streams.get(streamId);
    if (state === undefined) {
      throw new RtmpProtocolError(
        RtmpErrorCode.UnexpectedCommand,
        `Cannot handle ${command}: message stream ${streamId} was not created`,
      );
    }
    if (state.kind !== "idle") {
      throw new RtmpProtocolError(
        RtmpErrorCode.UnexpectedCommand,
        `Cannot handle ${command}: message stream ${streamId} is already ${state.kind}`,
      );
    }
    return state;
  }

  #publish(streamId: number, args: readonly Amf0Value[]): void {
    this.#streamFor("publish", streamId);
    // After the null command object: name, type (§7.2.2.6).
    const { name, params } = splitQuery(stringArg(args[0]));
    const publishType = typeof args[1] === "string" ? args[1] : "live";
    this.#streams.set(streamId, { kind: "publish-requested", name });
    this.#onEvent({
      type: "publish",
      streamId,
      app: this.#app,
      name,
      publishType,
      params: { ...this.#connectParams, ...params },
      ...(this.#relay ? { relay: this.#relay } : {}),
    });
  }

  #play(streamId: number, args: readonly Amf0Value[]): void {
    this.#streamFor("play", streamId);
    // After the null command object: name, start, duration, reset (§7.2.2.1).
    const { name, params } = splitQuery(stringArg(args[0]));
    this.#streams.set(streamId, { kind: "play-requested", name });
    this.#onEvent({
      type: "play",
      streamId,
      app: this.#app,
      name,
      params: { ...this.#connectParams, ...params },
      startMs: numberArg(args[1], -2),
      durationMs: numberArg(args[2], -1),
      ...(this.#relay ? { relay: this.#relay } : {}),
    });
  }

  #stopStream(streamId: number, reason: string): void {
    const state = this.#streams.get(streamId);
    if (state === undefined) return;
    this.#streams.set(streamId, { kind: "idle" });
    if (state.kind === "publishing") {
      this.#onEvent({ type: "unpublish", streamId, reason });
    } else if (state.kind === "playing") {
      this.#onEvent({ type: "stop-play", streamId, reason });
    }
  }
}

function stringArg(v: Amf0Value | undefined): string {
  return typeof v === "string" ? v : "";
}

function numberArg(v: Amf0Value | undefined, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

/**
 * The relay mark of `connect`, when its property is an object: each field as a bounded
 * string (a number as its decimal text), so whatever a client sends stays small and typed.
 */
function rawRelayMark(v: Amf0Value | undefined): RawRelayMark | undefined {
  const props = v === undefined ? undefined : amf0Properties(v);
  if (props === undefined) return undefined;
  const text = (x: Amf0Value | undefined): string =>
    typeof x === "string"
      ? x.slice(0, MAX_RELAY_FIELD_CHARS)
      : typeof x === "number"
      ? String(x)
      : "";
  return {
    hops: text(props.hops),
    via: text(props.via),
    secret: text(props.secret),
  };
}
