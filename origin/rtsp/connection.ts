/**
 * One RTSP client connection (RFC 2326 §10): its requests, its session, and the media of that
 * session: a publish (ANNOUNCE, SETUP with `mode=record`, RECORD; RTP in interleaved or over
 * UDP) or a play (DESCRIBE, SETUP, PLAY; RTP out the same two ways), wired to the hub through
 * `../ingest/` so that access control, stream limits and refusals are RTMP's.
 *
 * Each connection is its own failure domain: a malformed request gets 400 and the connection
 * closes (the byte stream cannot be trusted past it); a bad SDP gets 400 or 415, bad RTP
 * closes the publish; one log line says why, and the hub's other viewers go on.
 *
 * @module
 */

import {
  checkDigest,
  encodeInterleaved,
  encodeRtspResponse,
  formatChallenge,
  formatTransport,
  header,
  parseCredentials,
  parseSession,
  parseTransport,
  RTSP_REASONS,
  RtspFormatError,
  RtspReader,
  type RtspRequest,
  type RtspTransport,
} from "../../codec/rtsp/mod.ts";
import { RtpFormatError } from "../../codec/rtp/mod.ts";
import {
  buildPlaySdp,
  describeTracks,
  parseSdp,
  SdpFormatError,
  type SdpTrack,
} from "../../codec/sdp/mod.ts";
import { ConnState, type ConnTicket } from "../../net/mod.ts";
import {
  type IngestContext,
  type IngestPlay,
  type IngestPublish,
  type IngestRefusal,
  startIngestPlay,
  startIngestPublish,
} from "../ingest/mod.ts";
import { describeError } from "../log.ts";
import { SocketWriter } from "../rtmp/socket_writer.ts";
import { RtspReceiver } from "./receiver.ts";
import { playTracksOf, RtspSender } from "./sender.ts";
import type { RtspUdp } from "./udp.ts";
import { parseRtspTarget, type RtspTarget } from "./url.ts";

/** A connection must send a whole first request within this (ms). */
export const FIRST_REQUEST_TIMEOUT_MS = 10_000;
/** How long a DESCRIBE of a stream that just started waits for its sequence headers (ms). */
export const DESCRIBE_WAIT_MS = 3000;
/** Bytes read from the socket at a time. */
const READ_BUFFER_BYTES = 64 * 1024;
/** The methods we answer (RFC 2326 §10; Public header of OPTIONS). */
const METHODS =
  "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER";
/** Realm of our challenges. */
export const RTSP_REALM = "Meridian";

/** What every connection of one server shares. */
export interface RtspConnectionContext {
  readonly ingest: IngestContext;
  readonly udp: RtspUdp | undefined;
  /** `origin.rtsp.sessionTimeoutSeconds`, in ms. */
  readonly sessionTimeoutMs: number;
  /** `origin.live.maxViewerQueueBytes`: a player with more unsent bytes is dropped. */
  readonly maxViewerQueueBytes: number;
  /** Random 32-bit values (SSRCs, sequence starts, nonces, session ids). */
  readonly random: () => number;
  readonly now: () => number;
}

class Reply {
  constructor(
    readonly status: number,
    readonly headers: [string, string][] = [],
    readonly body: Uint8Array = new Uint8Array(0),
  ) {}
}

interface PublishSession {
  readonly kind: "publish";
  readonly id: string;
  readonly target: RtspTarget;
  readonly tracks: readonly SdpTrack[];
  readonly publish: IngestPublish;
  readonly receiver: RtspReceiver;
  /** Interleaved channel → track and whether it is RTCP. */
  readonly channels: Map<number, { track: number; rtcp: boolean }>;
  readonly setUp: Set<number>;
  readonly undo: (() => void)[];
  recording: boolean;
}

interface PlaySession {
  readonly kind: "play";
  readonly id: string;
  readonly target: RtspTarget;
  readonly sender: RtspSender;
  readonly out: Map<
    number,
    {
      tcp?: readonly [number, number];
      udp?: { hostname: string; rtp: number; rtcp: number };
    }
  >;
  readonly undo: (() => void)[];
  play: IngestPlay | undefined;
}

/** One RTSP connection. */
export class RtspConnection {
  readonly #conn: Deno.Conn;
  readonly #c: RtspConnectionContext;
  readonly #ticket: ConnTicket;
  readonly #peer: string;
  readonly #peerHost: string;
  readonly #writer: SocketWriter;
  readonly #reader = new RtspReader();
  readonly #startedMs: number;
  readonly #nonce: string;
  #lastInputMs: number;
  #requests = 0;
  #session: PublishSession | PlaySession | undefined;
  #closed = false;
  #closeReason = "";
  #closeError: unknown;
  #stream: string | undefined;
  #bytesIn = 0;

  constructor(conn: Deno.Conn, ctx: RtspConnectionContext, ticket: ConnTicket) {
    this.#conn = conn;
    this.#c = ctx;
    this.#ticket = ticket;
    const a = conn.remoteAddr as Deno.NetAddr;
    this.#peer = `${a.hostname}:${a.port}`;
    this.#peerHost = a.hostname;
    this.#startedMs = ctx.now();
    this.#lastInputMs = this.#startedMs;
    this.#nonce = [ctx.random(), ctx.random()].map((x) =>
      (x >>> 0).toString(16).padStart(8, "0")
    ).join("");
    this.#writer = new SocketWriter(
      conn,
      (err) =>
        err instanceof Deno.errors.BrokenPipe ||
          err instanceof Deno.errors.ConnectionReset
          ? this.close("peer closed the connection")
          : this.close("write failed", err),
    );
  }

  get #log() {
    return this.#c.ingest.log;
  }

  /** Closes the connection now and ends its session; idempotent. */
  close(reason: string, error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#closeError = error;
    this.#endSession();
    this.#writer.close();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /** Flushes what is queued (a final answer), then closes; bounded. */
  #closeAfterFlush(reason: string, error?: unknown): void {
    const timer = setTimeout(() => this.close(reason, error), 2000);
    void this.#writer.drained().then(() => {
      clearTimeout(timer);
      this.close(reason, error);
    });
  }

  /** The server's periodic check: deadlines. */
  checkIdle(now: number): void {
    if (
      this.#requests === 0 && now - this.#startedMs > FIRST_REQUEST_TIMEOUT_MS
    ) {
      this.close(`no request within ${FIRST_REQUEST_TIMEOUT_MS / 1000} s`);
    } else if (now - this.#lastInputMs > this.#c.sessionTimeoutMs) {
      this.close(
        `nothing received for ${
          this.#c.sessionTimeoutMs / 1000
        } s (session timeout)`,
      );
    }
  }

  async run(): Promise<void> {
    try {
      (this.#conn as Deno.TcpConn).setNoDelay?.(true);
      const buf = new Uint8Array(READ_BUFFER_BYTES);
      while (!this.#closed) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          this.close("peer closed the connection");
          break;
        }
        this.#bytesIn += n;
        this.#lastInputMs = this.#c.now();
        let items;
        try {
          items = this.#reader.push(buf.subarray(0, n));
        } catch (err) {
          if (err instanceof RtspFormatError) {
            this.#c.ingest.metrics.refused(
              "rtsp",
              this.#session?.kind ?? "play",
              "bad_request",
            );
            this.#write(encodeRtspResponse({
              version: "RTSP/1.0",
              status: 400,
              reason: RTSP_REASONS[400]!,
              headers: [["Server", "Meridian"]],
              body: new TextEncoder().encode(`${err.message}\n`),
            }));
            this.#closeAfterFlush("bad request", err);
            break;
          }
          throw err;
        }
        for (const item of items) {
          if (this.#closed) break;
          if (item.kind === "interleaved") {
            this.#interleaved(item.channel, item.data);
          } else if (item.kind === "request") {
            this.#requests++;
            await this.#request(item.message);
          }
          // Responses from a client (to our requests: we send none) are ignored.
        }
      }
    } catch (err) {
      if (!this.#closed) {
        if (
          err instanceof Deno.errors.ConnectionReset ||
          err instanceof Deno.errors.BrokenPipe
        ) {
          this.close("connection reset by peer");
        } else if (err instanceof RtpFormatError) this.close("bad RTP", err);
        else this.close("internal error", err);
      }
    } finally {
      this.close(this.#closeReason || "closed");
      this.#ticket.release();
      this.#logClose();
    }
  }

  #logClose(): void {
    const s = this.#session;
    const fields: Record<string, unknown> = {
      peer: this.#peer,
      stream: this.#stream,
      reason: this.#closeReason,
      bytesIn: this.#bytesIn,
      durationSeconds: Math.round((this.#c.now() - this.#startedMs) / 100) / 10,
    };
    if (s?.kind === "publish") {
      const st = s.receiver.stats;
      if (st.lost || st.late || st.foreignSsrc) {
        Object.assign(fields, {
          rtpLost: st.lost,
          rtpLate: st.late,
          rtpForeignSsrc: st.foreignSsrc,
        });
      }
    }
    if (this.#closeError !== undefined) {
      fields.error = describeError(this.#closeError);
      this.#log.warn("connection closed", fields);
    } else this.#log.info("connection closed", fields);
  }

  #write(bytes: Uint8Array): boolean {
    return this.#writer.enqueue(bytes);
  }

  #respond(req: RtspRequest, reply: Reply): void {
    const headers: [string, string][] = [
      ["CSeq", header(req.headers, "cseq") ?? "0"],
      ["Server", "Meridian"],
      ...reply.headers,
    ];
    const s = this.#session;
    if (s && !reply.headers.some(([k]) => k === "Session")) {
      headers.push([
        "Session",
        `${s.id};timeout=${Math.round(this.#c.sessionTimeoutMs / 1000)}`,
      ]);
    }
    this.#write(encodeRtspResponse({
      version: "RTSP/1.0",
      status: reply.status,
      reason: RTSP_REASONS[reply.status] ?? "Error",
      headers,
      body: reply.body,
    }));
  }

  #error(status: number, text: string): Reply {
    return new Reply(
      status,
      [["Content-Type", "text/plain"]],
      new TextEncoder().encode(`${text}\n`),
    );
  }

  async #request(req: RtspRequest): Promise<void> {
    let reply: Reply;
    try {
      if (header(req.headers, "cseq") === undefined) {
        reply = this.#error(400, "Missing CSeq header (RFC 2326 §12.17)");
      } else if (req.version !== "RTSP/1.0") {
        reply = this.#error(505, `Unsupported RTSP version ${req.version}`);
      } else reply = await this.#dispatch(req);
    } catch (err) {
      if (err instanceof RtspFormatError || err instanceof SdpFormatError) {
        this.#log.info("bad request", {
          peer: this.#peer,
          method: req.method,
          error: err.message,
        });
        reply = this.#error(400, err.message);
      } else throw err;
    }
    if (this.#closed) return;
    this.#respond(req, reply);
    if (reply.status === 400) {
      this.#c.ingest.metrics.refused(
        "rtsp",
        this.#session?.kind ?? "play",
        "bad_request",
      );
    }
  }

  async #dispatch(req: RtspRequest): Promise<Reply> {
    switch (req.method) {
      case "OPTIONS":
        return new Reply(200, [["Public", METHODS]]);
      case "GET_PARAMETER":
      case "SET_PARAMETER":
        return new Reply(200);
      case "DESCRIBE":
        return await this.#describe(req);
      case "ANNOUNCE":
        return await this.#announce(req);
      case "SETUP":
        return this.#setup(req);
      case "RECORD":
        return this.#record(req);
      case "PLAY":
        return await this.#play(req);
      case "PAUSE":
        return this.#pause(req);
      case "TEARDOWN": {
        const bad = this.#checkSession(req);
        if (bad) return bad;
        this.#endSession();
        return new Reply(200);
      }
      default:
        return this.#error(
          501,
          `Method not implemented: ${req.method.slice(0, 32)}`,
        );
    }
  }

  #target(req: RtspRequest): RtspTarget | Reply {
    const t = parseRtspTarget(req.uri);
    if (!t) {
      return this.#error(
        400,
        `The URL must name /{app}/{stream}, got '${req.uri.slice(0, 100)}'`,
      );
    }
    this.#stream = `${t.app}/${t.stream}`;
    return t;
  }

  /** Throws a Reply-worthy error when the request names another session than ours. */
  #checkSession(req: RtspRequest): Reply | undefined {
    const h = header(req.headers, "session");
    if (h === undefined) return undefined;
    const { id } = parseSession(h);
    if (this.#session && this.#session.id !== id) {
      return this.#error(454, "Session not found");
    }
    if (!this.#session) return this.#error(454, "Session not found");
    return undefined;
  }

  /**
   * The key (publish) or token (play) of a request: the URL's `?key=`/`?token=`, else the
   * password of Basic credentials, else (publish) the accepted key Digest credentials prove.
   * `undefined` params when credentials are needed and missing or wrong: answer 401.
   */
  #credentials(
    req: RtspRequest,
    action: "publish" | "play",
    t: RtspTarget,
  ): Record<string, string> | Reply {
    const params: Record<string, string> = { ...t.params };
    const gate = this.#c.ingest.access;
    if (!gate) return params;
    const name = action === "publish" ? "key" : "token";
    const needed = action === "publish"
      ? gate.publishKeyRequired(t.app, t.stream)
      : gate.tokenRequired(t.app);
    if (!needed || params[name]) return params;
    const auth = header(req.headers, "authorization");
    if (auth !== undefined) {
      const c = parseCredentials(auth);
      if (c.scheme === "basic") {
        params[name] = c.password;
        return params;
      }
      if (action === "publish") {
        const key = gate.publishKeyMatching(
          t.app,
          t.stream,
          (k) =>
            checkDigest(c, {
              realm: RTSP_REALM,
              nonce: this.#nonce,
              method: req.method,
            }, k),
        );
        if (key !== undefined) {
          params.key = key;
          return params;
        }
      }
    }
    this.#c.ingest.metrics.refused(
      "rtsp",
      action,
      auth === undefined ? `missing_${name}` : `wrong_${name}`,
    );
    this.#log.info(`${action} refused`, {
      peer: this.#peer,
      stream: `${t.app}/${t.stream}`,
      reason: auth === undefined
        ? `credentials required (${name})`
        : "credentials wrong",
    });
    const challenges: [string, string][] = [];
    // Digest proves a publish key without sending it; a token cannot be checked that way
    // (the store keeps no password to compare with), so plays are asked for Basic.
    if (action === "publish") {
      challenges.push([
        "WWW-Authenticate",
        formatChallenge({
          scheme: "digest",
          realm: RTSP_REALM,
          nonce: this.#nonce,
        }),
      ]);
    }
    challenges.push([
      "WWW-Authenticate",
      formatChallenge({ scheme: "basic", realm: RTSP_REALM }),
    ]);
    return new Reply(401, challenges);
  }

  #refusal(r: IngestRefusal): Reply {
    return this.#error(r.status === 409 ? 409 : r.status, r.description);
  }

  async #describe(req: RtspRequest): Promise<Reply> {
    const t = this.#target(req);
    if (t instanceof Reply) return t;
    const registry = this.#c.ingest.registry;
    let hub = registry.get(t.app, t.stream);
    if (!hub?.live) {
      this.#c.ingest.metrics.refused("rtsp", "play", "not_found");
      return this.#error(404, `Stream not found: ${t.app}/${t.stream}`);
    }
    const creds = this.#credentials(req, "play", t);
    if (creds instanceof Reply) return creds;
    // A stream that has just started may not have its sequence headers yet.
    const deadline = this.#c.now() + DESCRIBE_WAIT_MS;
    let tracks = playTracksOf(hub);
    while (
      tracks.sdp.length === 0 && this.#c.now() < deadline && !this.#closed
    ) {
      await new Promise((r) => setTimeout(r, 100));
      hub = registry.get(t.app, t.stream);
      if (!hub?.live) break;
      tracks = playTracksOf(hub);
    }
    if (tracks.sdp.length === 0) {
      return this.#error(
        404,
        `Stream has no track RTSP can carry: ${t.app}/${t.stream}`,
      );
    }
    const base = req.uri.replace(/\/+$/, "");
    const local = (this.#conn.localAddr as Deno.NetAddr).hostname;
    const sdp = buildPlaySdp({
      name: `${t.app}/${t.stream}`,
      address: local,
      tracks: tracks.sdp,
    });
    return new Reply(200, [["Content-Type", "application/sdp"], [
      "Content-Base",
      `${base}/`,
    ]], new TextEncoder().encode(sdp));
  }

  async #announce(req: RtspRequest): Promise<Reply> {
    const t = this.#target(req);
    if (t instanceof Reply) return t;
    if (this.#session) {
      return this.#error(455, "A session exists on this connection");
    }
    const type = header(req.headers, "content-type") ?? "";
    if (!/application\/sdp/i.test(type)) {
      return this.#error(
        415,
        `ANNOUNCE needs application/sdp, got '${type.slice(0, 40)}'`,
      );
    }
    const sdp = parseSdp(new TextDecoder().decode(req.body));
    const { tracks, unsupported } = describeTracks(sdp);
    if (tracks.length === 0) {
      this.#c.ingest.metrics.refused("rtsp", "publish", "no_track");
      return this.#error(
        415,
        `No track Meridian can carry (H.264, H.265, AAC, G.711, MPEG audio)${
          unsupported.length ? `: got ${unsupported.join(", ")}` : ""
        }`,
      );
    }
    const creds = this.#credentials(req, "publish", t);
    if (creds instanceof Reply) return creds;
    const r = await startIngestPublish(this.#c.ingest, {
      protocol: "rtsp",
      app: t.app,
      stream: t.stream,
      params: creds,
      peer: this.#peer,
    }, () => this.close("kicked by an operator"));
    if (!r.allowed) {
      this.#log.info("publish refused", {
        peer: this.#peer,
        stream: this.#stream,
        reason: r.reason,
      });
      return this.#refusal(r);
    }
    if (this.#closed) {
      r.publish.end();
      return new Reply(200);
    }
    if (unsupported.length > 0) {
      this.#log.info("tracks not carried", {
        peer: this.#peer,
        stream: this.#stream,
        tracks: unsupported.join(", "),
      });
    }
    const receiver = new RtspReceiver(tracks, {
      now: this.#c.now,
      encoder: "Meridian RTSP ingest",
    });
    receiver.onAnomaly = (what) =>
      this.#log.info("RTP anomaly", {
        peer: this.#peer,
        stream: this.#stream,
        what,
      });
    this.#session = {
      kind: "publish",
      id: this.#newSessionId(),
      target: t,
      tracks,
      publish: r.publish,
      receiver,
      channels: new Map(),
      setUp: new Set(),
      undo: [],
      recording: false,
    };
    this.#ticket.mark(ConnState.Active);
    this.#log.info("publish announced", {
      peer: this.#peer,
      stream: this.#stream,
      tracks: tracks.map((x) => x.codec).join(","),
    });
    return new Reply(200);
  }

  #newSessionId(): string {
    return [this.#c.random(), this.#c.random()].map((x) =>
      (x >>> 0).toString(16).padStart(8, "0")
    ).join("");
  }

  /** Which track a SETUP names: by control, else by position. */
  #trackIndex(controls: readonly string[], control: string): number {
    if (control === "") return controls.length === 1 ? 0 : -1;
    const i = controls.findIndex((c) =>
      c === control || c.endsWith(`/${control}`) || control.endsWith(c)
    );
    return i;
  }

  #setup(req: RtspRequest): Reply {
    const bad = this.#checkSession(req);
    if (bad) return bad;
    const t = parseRtspTarget(req.uri);
    if (!t) {
      return this.#error(
        400,
        `The URL must name /{app}/{stream}/{track}, got '${
          req.uri.slice(0, 100)
        }'`,
      );
    }
    const th = header(req.headers, "transport");
    if (!th) return this.#error(461, "SETUP needs a Transport header");
    const offers = parseTransport(th);
    const s = this.#session;
    if (s?.kind === "publish") {
      const i = this.#trackIndex(s.tracks.map((x) => x.control), t.control);
      if (i < 0) return this.#error(404, `No such track: ${t.control}`);
      const offer = offers.find((o) =>
        o.unicast && (o.protocol === "tcp" || (this.#c.udp && o.clientPort))
      );
      if (!offer) {
        return this.#error(
          461,
          "Transport must be RTP/AVP/TCP interleaved or RTP/AVP unicast with client_port",
        );
      }
      let answer: RtspTransport;
      if (offer.protocol === "tcp") {
        const ch = offer.interleaved ?? [2 * i, 2 * i + 1];
        s.channels.set(ch[0], { track: i, rtcp: false });
        s.channels.set(ch[1], { track: i, rtcp: true });
        answer = {
          protocol: "tcp",
          unicast: true,
          interleaved: ch,
          mode: "record",
        };
      } else {
        const udp = this.#c.udp!;
        const [rtp, rtcp] = offer.clientPort!;
        const rx = s.receiver;
        const hub = s.publish.hub;
        s.undo.push(udp.register("rtp", this.#peerHost, rtp, (b) => {
          this.#lastInputMs = this.#c.now();
          if (!s.recording) return;
          try {
            for (const tag of rx.rtp(i, b)) hub.pushTag(tag);
          } catch (err) {
            this.close("bad RTP", err);
          }
        }));
        s.undo.push(udp.register("rtcp", this.#peerHost, rtcp, (b) => {
          this.#lastInputMs = this.#c.now();
          rx.rtcp(i, b);
        }));
        answer = {
          protocol: "udp",
          unicast: true,
          clientPort: [rtp, rtcp],
          serverPort: [udp.rtpPort, udp.rtcpPort],
          mode: "record",
        };
      }
      s.setUp.add(i);
      return new Reply(200, [["Transport", formatTransport(answer)]]);
    }
    // A play: the first SETUP opens the session (DESCRIBE told the tracks).
    let play = s;
    if (!play) {
      const hub = this.#c.ingest.registry.get(t.app, t.stream);
      if (!hub?.live) {
        return this.#error(404, `Stream not found: ${t.app}/${t.stream}`);
      }
      const tracks = playTracksOf(hub);
      if (tracks.sdp.length === 0) {
        return this.#error(
          404,
          `Stream has no track RTSP can carry: ${t.app}/${t.stream}`,
        );
      }
      const sender = new RtspSender(
        tracks.sdp,
        (i, kind, bytes) => this.#sendMedia(i, kind, bytes),
        {
          now: this.#c.now,
          random: this.#c.random,
        },
      );
      play = this.#session = {
        kind: "play",
        id: this.#newSessionId(),
        target: t,
        sender,
        out: new Map(),
        undo: [],
        play: undefined,
      };
      this.#controls = tracks.sdp.map((x) => x.control);
      this.#stream = `${t.app}/${t.stream}`;
    }
    if (play.kind !== "play") return this.#error(455, "Not a play session");
    const i = this.#trackIndex(this.#controls, t.control);
    if (i < 0) return this.#error(404, `No such track: ${t.control}`);
    const offer = offers.find((o) =>
      o.unicast && (o.protocol === "tcp" || (this.#c.udp && o.clientPort))
    );
    if (!offer) {
      return this.#error(
        461,
        "Transport must be RTP/AVP/TCP interleaved or RTP/AVP unicast with client_port",
      );
    }
    let answer: RtspTransport;
    const ssrc = play.sender.ssrcOf(i)!;
    if (offer.protocol === "tcp") {
      const ch = offer.interleaved ?? [2 * i, 2 * i + 1];
      play.out.set(i, { tcp: ch });
      answer = {
        protocol: "tcp",
        unicast: true,
        interleaved: ch,
        ssrc,
        mode: "play",
      };
    } else {
      const udp = this.#c.udp!;
      const [rtp, rtcp] = offer.clientPort!;
      play.out.set(i, { udp: { hostname: this.#peerHost, rtp, rtcp } });
      // The player's receiver reports keep the session alive.
      play.undo.push(udp.register("rtcp", this.#peerHost, rtcp, () => {
        this.#lastInputMs = this.#c.now();
      }));
      answer = {
        protocol: "udp",
        unicast: true,
        clientPort: [rtp, rtcp],
        serverPort: [udp.rtpPort, udp.rtcpPort],
        ssrc,
        mode: "play",
      };
    }
    play.sender.setUp(i);
    return new Reply(200, [["Transport", formatTransport(answer)]]);
  }

  #controls: string[] = [];

  #sendMedia(track: number, kind: "rtp" | "rtcp", bytes: Uint8Array): boolean {
    const s = this.#session;
    if (this.#closed || s?.kind !== "play") return false;
    const o = s.out.get(track);
    if (!o) return true;
    if (o.tcp) {
      const frame = encodeInterleaved(
        kind === "rtp" ? o.tcp[0] : o.tcp[1],
        bytes,
      );
      return this.#writer.enqueue(frame, this.#c.maxViewerQueueBytes);
    }
    if (o.udp) {
      this.#c.udp?.send(
        kind,
        bytes,
        o.udp.hostname,
        kind === "rtp" ? o.udp.rtp : o.udp.rtcp,
      );
    }
    return true;
  }

  #record(req: RtspRequest): Reply {
    const bad = this.#checkSession(req);
    if (bad) return bad;
    const s = this.#session;
    if (s?.kind !== "publish") {
      return this.#error(455, "RECORD needs an ANNOUNCE first");
    }
    if (s.setUp.size === 0) {
      return this.#error(455, "RECORD needs a SETUP first");
    }
    s.recording = true;
    this.#log.info("publish started", {
      peer: this.#peer,
      stream: this.#stream,
    });
    return new Reply(200);
  }

  async #play(req: RtspRequest): Promise<Reply> {
    const bad = this.#checkSession(req);
    if (bad) return bad;
    const s = this.#session;
    if (s?.kind !== "play" || s.sender.setUpCount === 0) {
      return this.#error(455, "PLAY needs a SETUP first");
    }
    if (s.play) return new Reply(200, [["Range", "npt=0.000-"]]);
    const creds = this.#credentials(req, "play", s.target);
    if (creds instanceof Reply) return creds;
    const base = req.uri.replace(/\/+$/, "");
    const rtpInfo = s.sender.rtpInfo(base);
    const r = await startIngestPlay(this.#c.ingest, {
      protocol: "rtsp",
      app: s.target.app,
      stream: s.target.stream,
      params: creds,
      peer: this.#peer,
    }, {
      onTags: (tags) => s.sender.send(tags),
      onEnd: (reason, dropped) => {
        s.play = undefined;
        if (dropped) this.close(`player too slow: ${reason}`);
        else this.#closeAfterFlush(reason);
      },
    }, () => this.close("access token revoked"));
    if (!r.allowed) {
      this.#log.info("play refused", {
        peer: this.#peer,
        stream: this.#stream,
        reason: r.reason,
      });
      return this.#refusal(r);
    }
    if (this.#closed || this.#session !== s) {
      r.play.stop();
      return new Reply(454);
    }
    s.play = r.play;
    this.#ticket.mark(ConnState.Active);
    this.#log.info("play started", { peer: this.#peer, stream: this.#stream });
    // The answer must precede the media: it is queued now, the hub's burst after it.
    return new Reply(200, [["Range", "npt=0.000-"], ["RTP-Info", rtpInfo]]);
  }

  #pause(req: RtspRequest): Reply {
    const bad = this.#checkSession(req);
    if (bad) return bad;
    const s = this.#session;
    if (s?.kind === "play" && s.play) {
      s.play.stop();
      s.play = undefined;
    }
    return new Reply(200);
  }

  #interleaved(channel: number, data: Uint8Array): void {
    const s = this.#session;
    if (s?.kind !== "publish" || !s.recording) return; // a player's RTCP, or media before RECORD
    const c = s.channels.get(channel);
    if (!c) return;
    if (c.rtcp) {
      s.receiver.rtcp(c.track, data);
      return;
    }
    const hub = s.publish.hub;
    for (const tag of s.receiver.rtp(c.track, data)) hub.pushTag(tag);
  }

  #endSession(): void {
    const s = this.#session;
    if (!s) return;
    this.#session = undefined;
    for (const u of s.undo) u();
    if (s.kind === "publish") s.publish.end();
    else s.play?.stop();
    this.#ticket.mark(ConnState.Idle);
  }
}
