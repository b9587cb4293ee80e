/**
 * WHEP playback and WHIP ingest sessions (RFC 9725 and the WHEP draft): the checks of an
 * offer in the order a client can act on (malformed 400, no codec 406, unknown stream 404,
 * access 401/403, busy 409, full 503), the answer, and each session's life until DELETE, the
 * stream's end, an ICE/DTLS failure or lost consent (RFC 7675), or silence.
 *
 * A WHEP viewer is a raw-tag listener of the hub (called as tags arrive, no coalescing delay):
 * it starts at the next keyframe, and RTP goes out through werift; an AAC stream's audio goes
 * with it as Opus when the viewer offers Opus (`opus_audio.ts`). A WHIP publisher is an
 * ordinary hub publish (`../ingest/`: RTMP's access rules, stream limit and refusals), its
 * RTP turned into FLV tags, so RTMP, HTTP-FLV and HLS play it.
 *
 * Each session is its own failure domain: what one peer sends wrong ends that session with
 * one log line.
 *
 * @module
 */

import { FlvToElementary } from "../../codec/flv/es_reader.ts";
import type { OriginWebrtcConfig } from "../../config/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import {
  authorizeIngest,
  type IngestContext,
  type IngestPublish,
  type IngestRefusal,
  startIngestPublish,
} from "../ingest/mod.ts";
import { describeError } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import {
  createWebrtcMetrics,
  type WebrtcKind,
  type WebrtcMetrics,
  type WebrtcOutcome,
} from "./metrics.ts";
import {
  inspectOffer,
  OfferError,
  OfferErrorCode,
  type OfferSummary,
} from "./offer.ts";
import type { OpusFeeds } from "./opus_audio.ts";
import { answerOffer, PeerSetupError, type WebrtcPeer } from "./peer.ts";
import { WhepSender } from "./whep_sender.ts";
import { WhipReceiver } from "./whip_receiver.ts";

/** A connected session that hears no RTCP (nor RTP) from its peer for this long is closed (ms). */
export const SILENCE_TIMEOUT_MS = 20_000;
/** A `disconnected` session that does not come back within this is closed (ms). */
export const DISCONNECTED_GRACE_MS = 5_000;
/** A WHIP publisher is asked for a keyframe this often (browsers send one only when asked). */
export const KEYFRAME_REQUEST_INTERVAL_MS = 2_000;
/** How often a WHIP session gives up RTP gaps that were not repaired (ms). */
const REORDER_POLL_MS = 50;

/** An offer to answer. */
export interface OfferRequest {
  readonly app: string;
  readonly stream: string;
  readonly offer: string;
  /** Query parameters; for WHIP, the bearer token is added as `key` and `token`. */
  readonly params: Readonly<Record<string, string>>;
  /** `host:port` of the HTTP client. */
  readonly peer: string;
}

/** The answer, or why there is none. */
export type OfferResult =
  | {
    readonly ok: true;
    readonly id: string;
    readonly answer: string;
    /** Things the client should know (`X-Meridian-Note`), e.g. audio not sent. */
    readonly notes: readonly string[];
  }
  | {
    readonly ok: false;
    readonly status: 400 | 401 | 403 | 404 | 406 | 409 | 503;
    readonly reason: string;
    readonly message: string;
  };

/** What the service needs from the origin. */
export interface WebrtcServiceDeps {
  readonly ingest: IngestContext;
  readonly metrics: MetricsRegistry;
  /** Opus audio for AAC streams (an ffmpeg child per stream); none: video only. */
  readonly opus?: OpusFeeds | undefined;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface Session {
  readonly id: string;
  readonly kind: WebrtcKind;
  readonly app: string;
  readonly stream: string;
  readonly client: string;
  readonly startedMs: number;
  peer: WebrtcPeer | undefined;
  connected: boolean;
  lastHeardMs: number;
  readonly cleanups: (() => void)[];
  closed: boolean;
  frames: () => number;
}

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** The H.264 profile_idc and codec of a live hub's video, from its cached sequence header. */
function streamVideoOf(
  hub: Hub,
): { codec: string | undefined; profileIdc: number | undefined } {
  const reader = new FlvToElementary();
  const off = hub.addListener({
    onTag: (t) => void reader.push(t),
    onEnd() {},
  });
  off();
  const v = reader.video;
  return {
    codec: v?.codec ?? hub.codecs.video,
    profileIdc: v?.codec === "avc" ? v.profileLevelId[0] : undefined,
  };
}

/**
 * @example
 * ```ts ignore
 * const webrtc = new WebrtcService(config.webrtc, { ingest, metrics });
 * const r = await webrtc.whep({ app: "live", stream: "cam", offer, params: {}, peer });
 * ```
 */
export class WebrtcService {
  readonly #c: OriginWebrtcConfig;
  readonly #ingest: IngestContext;
  readonly #m: WebrtcMetrics;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #opus: OpusFeeds | undefined;
  readonly #sessions = new Map<string, Session>();
  /** Offers being answered (counted against `maxSessions` too). */
  #pending = 0;

  constructor(config: OriginWebrtcConfig, deps: WebrtcServiceDeps) {
    this.#c = config;
    this.#ingest = deps.ingest;
    this.#now = deps.now ?? (() => performance.now());
    this.#random = deps.random ??
      (() => crypto.getRandomValues(new Uint32Array(1))[0]!);
    this.#m = createWebrtcMetrics(deps.metrics, () => this.openByKind());
    this.#opus = deps.opus;
  }

  get #log() {
    return this.#ingest.log;
  }

  /** Sessions open, by kind. */
  openByKind(): Record<WebrtcKind, number> {
    const out = { whep: 0, whip: 0 };
    for (const s of this.#sessions.values()) out[s.kind]++;
    return out;
  }

  #refuse(
    kind: WebrtcKind,
    r: OfferRequest,
    status: Extract<OfferResult, { ok: false }>["status"],
    reason: string,
    message: string,
  ): OfferResult {
    this.#m.ended(kind, "refused");
    this.#log.info("offer refused", {
      kind,
      stream: `${r.app}/${r.stream}`.slice(0, 200),
      client: r.peer,
      status,
      reason,
      error: message,
    });
    return { ok: false, status, reason, message };
  }

  /** A request the routes refused before it reached an offer (415, 413): counted, logged once. */
  rejected(
    kind: WebrtcKind,
    r: Omit<OfferRequest, "offer" | "params">,
    status: number,
    reason: string,
    message: string,
  ): void {
    this.#m.ended(kind, "refused");
    this.#log.info("offer refused", {
      kind,
      stream: `${r.app}/${r.stream}`.slice(0, 200),
      client: r.peer,
      status,
      reason,
      error: message,
    });
  }

  #fromRefusal(kind: WebrtcKind, r: OfferRequest, x: IngestRefusal) {
    return this.#refuse(kind, r, x.status, x.reason, x.description);
  }

  #offer(
    kind: WebrtcKind,
    r: OfferRequest,
    profileIdc: number | undefined,
  ): OfferSummary | OfferResult {
    try {
      return inspectOffer(r.offer, profileIdc);
    } catch (err) {
      if (err instanceof OfferError) {
        return err.code === OfferErrorCode.NoCodec
          ? this.#refuse(kind, r, 406, "no_codec", err.message)
          : this.#refuse(kind, r, 400, "bad_offer", err.message);
      }
      throw err;
    }
  }

  #full(): boolean {
    return this.#sessions.size + this.#pending >= this.#c.maxSessions;
  }

  /** A WHEP offer: play `app/stream` as H.264 over WebRTC. */
  async whep(r: OfferRequest): Promise<OfferResult> {
    if (this.#full()) {
      return this.#refuse(
        "whep",
        r,
        503,
        "max_sessions",
        `Cannot play: the origin has its maximum of ${this.#c.maxSessions} WebRTC sessions`,
      );
    }
    const live = this.#ingest.registry.get(r.app, r.stream);
    const video = live?.live ? streamVideoOf(live) : undefined;
    const offer = this.#offer("whep", r, video?.profileIdc);
    if ("ok" in offer) return offer;
    if (
      offer.videoDirection === "sendonly" || offer.videoDirection === "inactive"
    ) {
      return this.#refuse(
        "whep",
        r,
        400,
        "bad_offer",
        `A WHEP offer must receive video (a=recvonly), got a=${offer.videoDirection}`,
      );
    }
    const request = {
      protocol: "webrtc",
      app: r.app,
      stream: r.stream,
      params: r.params,
      peer: r.peer,
    } as const;
    if (!live?.live) {
      const named = await authorizeIngest(undefined, {
        ...request,
        action: "play",
      });
      if (!named.allowed) return this.#fromRefusal("whep", r, named);
      return this.#refuse(
        "whep",
        r,
        404,
        "not_found",
        `Stream not found: ${r.app}/${r.stream}`,
      );
    }
    if (video?.codec !== "avc") {
      return this.#refuse(
        "whep",
        r,
        406,
        "no_codec",
        video?.codec
          ? `The stream's video is ${video.codec}: WebRTC playback sends H.264 only`
          : "The stream has no video yet: WebRTC playback sends H.264 video",
      );
    }
    this.#pending++;
    try {
      const decision = await authorizeIngest(this.#ingest.access, {
        ...request,
        action: "play",
      });
      if (!decision.allowed) return this.#fromRefusal("whep", r, decision);
      const hub = this.#ingest.registry.get(r.app, r.stream);
      if (!hub?.live) {
        decision.session.end();
        return this.#refuse(
          "whep",
          r,
          404,
          "not_found",
          `Stream not found: ${r.app}/${r.stream}`,
        );
      }
      const session = this.#newSession("whep", r);
      session.cleanups.push(() => decision.session.end());
      decision.session.watch(() =>
        this.#close(session, "access revoked", "ok")
      );
      const sender = new WhepSender({
        random: this.#random,
        payloadType: offer.h264.payloadType,
      });
      session.frames = () => sender.stats.frames;
      let framesCounted = 0;
      // AAC is transcoded to Opus for a viewer that offered Opus (one child per stream).
      const opus = hub.codecs.audio === "aac" && this.#opus
        ? offer.opus
        : undefined;
      const attach = () => {
        if (opus && session.peer?.sendsAudio && this.#opus) {
          const peer = session.peer;
          session.cleanups.push(
            this.#opus.subscribe(hub, (rtp) => peer.sendAudioRtp(rtp)),
          );
        }
        const off = hub.addListener({
          onTag: (tag) => {
            if (session.closed) return;
            for (const p of sender.push(tag)) session.peer?.sendRtp(p);
            const n = sender.stats.frames - framesCounted;
            if (n > 0) {
              framesCounted += n;
              this.#m.frames("out", n);
            }
          },
          onEnd: () => this.#close(session, "stream ended", "ok"),
        });
        session.cleanups.push(off);
      };
      const answered = await this.#answer(
        session,
        r,
        offer,
        "send",
        attach,
        undefined,
        opus,
      );
      if (!answered.ok) return answered;
      this.#ingest.metrics.started("webrtc", "play");
      const notes: string[] = [];
      const audio = hub.codecs.audio;
      if (audio && !session.peer?.sendsAudio) {
        notes.push(
          audio !== "aac"
            ? `audio (${audio}) is not sent: only AAC is transcoded to Opus for WebRTC`
            : !this.#opus
            ? "audio (aac) is not sent: Opus transcoding is off (origin.webrtc.opusAudio)"
            : "audio (aac) is not sent: the offer has no Opus audio",
        );
      }
      return { ...answered, notes };
    } finally {
      this.#pending--;
    }
  }

  /** A WHIP offer: publish `app/stream` from a WebRTC encoder (OBS, a browser). */
  async whip(r: OfferRequest): Promise<OfferResult> {
    if (this.#full()) {
      return this.#refuse(
        "whip",
        r,
        503,
        "max_sessions",
        `Cannot publish: the origin has its maximum of ${this.#c.maxSessions} WebRTC sessions`,
      );
    }
    const offer = this.#offer("whip", r, undefined);
    if ("ok" in offer) return offer;
    if (
      offer.videoDirection === "recvonly" || offer.videoDirection === "inactive"
    ) {
      return this.#refuse(
        "whip",
        r,
        400,
        "bad_offer",
        `A WHIP offer must send video (a=sendonly), got a=${offer.videoDirection}`,
      );
    }
    this.#pending++;
    try {
      const ref: { session?: Session } = {};
      const started = await startIngestPublish(
        this.#ingest,
        {
          protocol: "webrtc",
          app: r.app,
          stream: r.stream,
          params: r.params,
          peer: r.peer,
        },
        () =>
          ref.session &&
          this.#close(ref.session, "kicked by an operator", "ok"),
      );
      if (!started.allowed) return this.#fromRefusal("whip", r, started);
      const publish: IngestPublish = started.publish;
      const s = this.#newSession("whip", r);
      ref.session = s;
      s.cleanups.push(() => publish.end());
      const receiver = new WhipReceiver({ encoder: "Meridian WHIP" });
      s.frames = () => receiver.stats.frames;
      let framesCounted = 0;
      const push = (tags: ReturnType<WhipReceiver["push"]>) => {
        for (const t of tags) publish.hub.pushTag(t);
        if (receiver.takeKeyframeRequest()) s.peer?.requestKeyframe();
        const n = receiver.stats.frames - framesCounted;
        if (n > 0) {
          framesCounted += n;
          this.#m.frames("in", n);
        }
      };
      const onRtp = (bytes: Uint8Array) => {
        if (s.closed) return;
        s.lastHeardMs = this.#now();
        try {
          push(receiver.push(bytes, s.lastHeardMs));
        } catch (err) {
          this.#close(s, "bad RTP from the publisher", "error", err);
        }
      };
      const attach = () => {
        s.peer?.requestKeyframe();
        const poll = setInterval(() => {
          try {
            push(receiver.poll(this.#now()));
          } catch (err) {
            this.#close(s, "bad RTP from the publisher", "error", err);
          }
        }, REORDER_POLL_MS);
        const pli = setInterval(
          () => s.peer?.requestKeyframe(),
          KEYFRAME_REQUEST_INTERVAL_MS,
        );
        s.cleanups.push(() => {
          clearInterval(poll);
          clearInterval(pli);
        });
      };
      const answered = await this.#answer(
        s,
        r,
        offer,
        "receive",
        attach,
        onRtp,
      );
      if (!answered.ok) return answered;
      const notes: string[] = [];
      if (offer.hasAudio) {
        notes.push(
          "audio is not ingested: WebRTC ingest takes H.264 video only (the hub carries no Opus)",
        );
      }
      return { ...answered, notes };
    } finally {
      this.#pending--;
    }
  }

  #newSession(kind: WebrtcKind, r: OfferRequest): Session {
    const s: Session = {
      id: randomId(),
      kind,
      app: r.app,
      stream: r.stream,
      client: r.peer,
      startedMs: this.#now(),
      peer: undefined,
      connected: false,
      lastHeardMs: this.#now(),
      cleanups: [],
      closed: false,
      frames: () => 0,
    };
    this.#sessions.set(s.id, s);
    return s;
  }

  async #answer(
    s: Session,
    r: OfferRequest,
    offer: OfferSummary,
    role: "send" | "receive",
    onConnected: () => void,
    onRtp: (bytes: Uint8Array) => void = () => {},
    opus?: OfferSummary["opus"],
  ): Promise<OfferResult> {
    let disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
    s.cleanups.push(() => clearTimeout(disconnectedTimer));
    try {
      s.peer = await answerOffer(r.offer, offer.h264, opus, role, this.#c, {
        onState: (state) => {
          if (s.closed) return;
          if (state === "connected") {
            clearTimeout(disconnectedTimer);
            disconnectedTimer = undefined;
            s.lastHeardMs = this.#now();
            if (!s.connected) {
              s.connected = true;
              onConnected();
            }
          } else if (state === "disconnected") {
            disconnectedTimer ??= setTimeout(
              () => this.#close(s, "ICE disconnected (consent lost)", "failed"),
              DISCONNECTED_GRACE_MS,
            );
          } else if (state === "failed" || state === "closed") {
            this.#close(s, `connection ${state} (ICE or DTLS)`, "failed");
          }
        },
        onRtcp: () => {
          s.lastHeardMs = this.#now();
        },
        onRtp,
      });
    } catch (err) {
      this.#close(s, "offer not answered", "refused", err, false);
      if (err instanceof PeerSetupError) {
        const gathering = /gathering/.test(err.message);
        return this.#refuse(
          s.kind,
          r,
          gathering ? 503 : 400,
          gathering ? "ice_gathering" : "bad_offer",
          err.message,
        );
      }
      throw err;
    }
    if (s.closed) {
      // Closed while answering (the stream ended, the origin shuts down).
      await s.peer.close();
      return this.#refuse(
        s.kind,
        r,
        404,
        "not_found",
        `Stream ended: ${r.app}/${r.stream}`,
      );
    }
    const connectTimer = setTimeout(() => {
      if (!s.connected) {
        this.#close(
          s,
          `not connected within ${this.#c.connectTimeoutMs} ms`,
          "timeout",
        );
      }
    }, this.#c.connectTimeoutMs);
    const watch = setInterval(() => {
      if (s.connected && this.#now() - s.lastHeardMs > SILENCE_TIMEOUT_MS) {
        this.#close(
          s,
          `nothing heard from the peer for ${SILENCE_TIMEOUT_MS / 1000} s`,
          "failed",
        );
      }
    }, 1000);
    s.cleanups.push(() => {
      clearTimeout(connectTimer);
      clearInterval(watch);
    });
    return { ok: true, id: s.id, answer: s.peer.answer, notes: [] };
  }

  /** Ends session `id` of `kind` on `app/stream` (the client's DELETE); false if none. */
  end(kind: WebrtcKind, app: string, stream: string, id: string): boolean {
    const s = this.#sessions.get(id);
    if (!s || s.kind !== kind || s.app !== app || s.stream !== stream) {
      return false;
    }
    this.#close(s, "ended by the client (DELETE)", "ok");
    return true;
  }

  #close(
    s: Session,
    reason: string,
    outcome: WebrtcOutcome,
    error?: unknown,
    count = true,
  ): void {
    if (s.closed) return;
    s.closed = true;
    this.#sessions.delete(s.id);
    for (const c of s.cleanups.splice(0).reverse()) {
      try {
        c();
      } catch {
        // One cleanup failing must not keep the others from running.
      }
    }
    void s.peer?.close();
    if (!count) return;
    this.#m.ended(s.kind, outcome);
    const fields: Record<string, unknown> = {
      kind: s.kind,
      id: s.id,
      stream: `${s.app}/${s.stream}`,
      client: s.client,
      reason,
      frames: s.frames(),
      durationSeconds: Math.round((this.#now() - s.startedMs) / 100) / 10,
    };
    if (error !== undefined) {
      fields.error = describeError(error);
      this.#log.warn("session closed", fields);
    } else this.#log.info("session closed", fields);
  }

  /** Ends every session (origin shutdown). */
  async close(): Promise<void> {
    this.#opus?.close();
    const peers = [...this.#sessions.values()].map((s) => s.peer);
    for (const s of [...this.#sessions.values()]) {
      this.#close(s, "origin shutting down", "ok");
    }
    await Promise.all(peers.map((p) => p?.close()));
  }
}
