/**
 * One camera pulled over RTSP into a live stream (`origin.rtsp.sources[]`, `POST
 * /admin/sources`): OPTIONS, DESCRIBE (answering a Basic or Digest challenge once), SETUP of
 * each track we carry (TCP interleaved, or a UDP port pair of its own), PLAY, then RTP into the
 * hub through the same {@link RtspReceiver} as an RTSP publish. Keep-alives (OPTIONS) every
 * half session timeout, RTCP receiver reports every {@link RECEIVER_REPORT_INTERVAL_MS}.
 *
 * A source that fails (refused, unreachable, no media for {@link MEDIA_TIMEOUT_MS}, the stream
 * ended) ends its stream and is retried after `retryMinMs`, doubling up to `retryMaxMs`
 * (reset once media flowed for {@link STABLE_MS}); its state and last error are kept for
 * `/api/streams`, `/admin/sources` and `/metrics`, and each failure is one log line.
 *
 * @module
 */

import {
  answerChallenge,
  type AuthChallenge,
  encodeInterleaved,
  encodeRtspRequest,
  formatTransport,
  header,
  parseChallenge,
  parseRtpInfo,
  parseSession,
  parseTransport,
  RtspReader,
  type RtspResponse,
} from "../../codec/rtsp/mod.ts";
import { encodeReceiverReport } from "../../codec/rtp/mod.ts";
import {
  describeTracks,
  parseSdp,
  type SdpTrack,
} from "../../codec/sdp/mod.ts";
import type { RtspSourceConfig } from "../../config/mod.ts";
import {
  type IngestContext,
  type IngestPublish,
  startIngestPublish,
} from "../ingest/mod.ts";
import { describeError } from "../log.ts";
import { RtspReceiver } from "./receiver.ts";

/** A request unanswered for this long fails the attempt (ms). */
export const REQUEST_TIMEOUT_MS = 10_000;
/** No RTP for this long after PLAY fails the attempt (ms). */
export const MEDIA_TIMEOUT_MS = 10_000;
/** RTCP receiver reports go out this often (ms). */
export const RECEIVER_REPORT_INTERVAL_MS = 5000;
/** A pull that has carried media this long resets the retry delay (ms). */
export const STABLE_MS = 10_000;
/** Default RTSP port (RFC 2326 §3.2). */
const RTSP_DEFAULT_PORT = 554;

/** What operators see of a source. */
export interface RtspSourceStatus {
  /** `app/stream`. */
  readonly name: string;
  /** The URL without its password. */
  readonly url: string;
  readonly transport: "tcp" | "udp";
  /** `connecting`, `live`, `retrying` (waiting for the next attempt) or `stopped`. */
  readonly state: "connecting" | "live" | "retrying" | "stopped";
  /** Why the last attempt failed, if one did. */
  readonly lastError: string | undefined;
  /** When the state last changed (ISO 8601). */
  readonly since: string;
  /** Failed attempts since the source last carried media. */
  readonly failures: number;
}

/** The URL as logs and APIs show it: its password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//***@");
  }
}

class SourceError extends Error {
  override name = "SourceError";
}

/** One pulled camera. */
export class RtspSource {
  readonly config: RtspSourceConfig;
  readonly #ctx: IngestContext;
  readonly #retry: { minMs: number; maxMs: number };
  #state: RtspSourceStatus["state"] = "connecting";
  #since = Date.now();
  #lastError: string | undefined;
  #failures = 0;
  #stopped = false;
  #wake: (() => void) | undefined;
  #conn: Deno.Conn | undefined;
  #udp: Deno.DatagramConn[] = [];
  readonly #task: Promise<void>;
  /** Told on every state change (metrics are computed from status, this is for tests). */
  onChange: (() => void) | undefined;

  constructor(
    config: RtspSourceConfig,
    ctx: IngestContext,
    retry: { readonly minMs: number; readonly maxMs: number },
  ) {
    this.config = config;
    this.#ctx = ctx;
    this.#retry = retry;
    this.#task = this.#loop();
  }

  get status(): RtspSourceStatus {
    return {
      name: this.config.name,
      url: redactUrl(this.config.url),
      transport: this.config.transport,
      state: this.#state,
      lastError: this.#lastError,
      since: new Date(this.#since).toISOString(),
      failures: this.#failures,
    };
  }

  #set(state: RtspSourceStatus["state"]): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#since = Date.now();
    this.onChange?.();
  }

  async #loop(): Promise<void> {
    let delay = this.#retry.minMs;
    while (!this.#stopped) {
      this.#set("connecting");
      const started = Date.now();
      let mediaFlowed = false;
      try {
        await this.#attempt(() => {
          mediaFlowed = true;
          this.#failures = 0;
          this.#lastError = undefined;
          this.#set("live");
        });
        if (this.#stopped) break;
        throw new SourceError("the camera ended the session");
      } catch (err) {
        if (this.#stopped) break;
        if (mediaFlowed && Date.now() - started >= STABLE_MS) {
          delay = this.#retry.minMs;
        }
        this.#failures++;
        this.#lastError = err instanceof Error ? err.message : String(err);
        this.#set("retrying");
        this.#ctx.log.warn("source failed", {
          source: this.config.name,
          url: redactUrl(this.config.url),
          error: describeError(err),
          retryInSeconds: delay / 1000,
        });
      } finally {
        this.#cleanup();
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
      delay = Math.min(delay * 2, this.#retry.maxMs);
    }
    this.#set("stopped");
  }

  #cleanup(): void {
    try {
      this.#conn?.close();
    } catch {
      // closed already
    }
    this.#conn = undefined;
    for (const u of this.#udp) {
      try {
        u.close();
      } catch {
        // closed already
      }
    }
    this.#udp = [];
  }

  /** Stops pulling: the stream ends, no more retries. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.#cleanup();
    await this.#task;
  }

  /** One connection: resolves when the camera closes it, rejects on failure. */
  async #attempt(onMedia: () => void): Promise<void> {
    const url = new URL(this.config.url);
    const user = this.config.user || decodeURIComponent(url.username);
    const password = this.config.password || decodeURIComponent(url.password);
    url.username = "";
    url.password = "";
    const base = url.toString();
    const conn = this.#conn = await Deno.connect({
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || RTSP_DEFAULT_PORT),
    });
    const reader = new RtspReader();
    let cseq = 0;
    let auth: AuthChallenge | undefined;
    let session: string | undefined;
    const pending = new Map<number, (r: RtspResponse) => void>();
    let onInterleaved: (channel: number, data: Uint8Array) => void = () => {};
    let closed: (err?: unknown) => void = () => {};
    const ended = new Promise<void>((resolve, reject) => {
      closed = (err) => (err ? reject(err) : resolve());
    });
    // The read loop: answers to our requests, and media once playing.
    const readLoop = (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) return closed();
          for (const item of reader.push(buf.subarray(0, n))) {
            if (item.kind === "response") {
              const c = Number(header(item.message.headers, "cseq"));
              pending.get(c)?.(item.message);
              pending.delete(c);
            } else if (item.kind === "interleaved") {
              onInterleaved(item.channel, item.data);
            }
          }
        }
      } catch (err) {
        closed(this.#stopped ? undefined : err);
      }
    })();
    const request = async (
      method: string,
      uri: string,
      headers: [string, string][] = [],
    ): Promise<RtspResponse> => {
      for (let tries = 0; tries < 2; tries++) {
        const n = ++cseq;
        const h: [string, string][] = [["CSeq", String(n)], [
          "User-Agent",
          "Meridian",
        ], ...headers];
        if (session) h.push(["Session", session]);
        if (auth) {
          h.push([
            "Authorization",
            answerChallenge(auth, {
              user,
              password,
              method,
              uri,
              cnonce: crypto.randomUUID().slice(0, 8),
            }),
          ]);
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const answer = new Promise<RtspResponse>((resolve, reject) => {
          pending.set(n, resolve);
          timer = setTimeout(
            () =>
              reject(
                new SourceError(
                  `${method} unanswered for ${REQUEST_TIMEOUT_MS / 1000} s`,
                ),
              ),
            REQUEST_TIMEOUT_MS,
          );
        });
        let r: RtspResponse;
        try {
          await conn.write(
            encodeRtspRequest({
              method,
              uri,
              version: "RTSP/1.0",
              headers: h,
              body: new Uint8Array(0),
            }),
          );
          r = await Promise.race([
            answer,
            ended.then(() => {
              throw new SourceError(
                `the camera closed the connection during ${method}`,
              );
            }),
          ]);
        } finally {
          clearTimeout(timer);
          pending.delete(n);
        }
        if (r.status === 401 && tries === 0 && (user || password)) {
          const challenges = r.headers.filter(([k]) =>
            k.toLowerCase() === "www-authenticate"
          )
            .map(([, v]) => parseChallenge(v)).filter((c): c is AuthChallenge =>
              c !== undefined
            );
          auth = challenges.find((c) => c.scheme === "digest") ?? challenges[0];
          if (auth) continue;
        }
        if (r.status !== 200) {
          throw new SourceError(`${method} answered ${r.status} ${r.reason}`);
        }
        return r;
      }
      throw new SourceError(
        `${method} answered 401 Unauthorized (credentials refused)`,
      );
    };

    try {
      await request("OPTIONS", base);
      const described = await request("DESCRIBE", base, [[
        "Accept",
        "application/sdp",
      ]]);
      const sdp = parseSdp(new TextDecoder().decode(described.body));
      const { tracks, unsupported } = describeTracks(sdp);
      if (tracks.length === 0) {
        throw new SourceError(
          `no track Meridian can carry${
            unsupported.length ? ` (got ${unsupported.join(", ")})` : ""
          }`,
        );
      }
      const contentBase = header(described.headers, "content-base") ??
        header(described.headers, "content-location") ?? base;
      const receiver = new RtspReceiver(tracks, {
        now: Date.now,
        encoder: "Meridian RTSP pull",
      });
      let lastMediaMs = Date.now();
      let media = false;
      const gotMedia = () => {
        lastMediaMs = Date.now();
        if (media) return;
        media = true;
        onMedia();
      };
      const channels = new Map<number, { track: number; rtcp: boolean }>();
      const rtcpOut: ((bytes: Uint8Array) => void)[] = [];
      let timeoutSeconds = 60;
      for (let i = 0; i < tracks.length; i++) {
        const t = tracks[i]!;
        let transport: string;
        if (this.config.transport === "tcp") {
          transport = formatTransport({
            protocol: "tcp",
            unicast: true,
            interleaved: [2 * i, 2 * i + 1],
          });
        } else {
          const [rtp, rtcp] = this.#udpPair();
          transport = formatTransport({
            protocol: "udp",
            unicast: true,
            clientPort: [
              (rtp.addr as Deno.NetAddr).port,
              (rtcp.addr as Deno.NetAddr).port,
            ],
          });
        }
        const r = await request("SETUP", controlUrl(contentBase, t), [[
          "Transport",
          transport,
        ]]);
        const sh = header(r.headers, "session");
        if (sh) {
          const s = parseSession(sh);
          session = s.id;
          timeoutSeconds = s.timeoutSeconds ?? timeoutSeconds;
        }
        const answered =
          parseTransport(header(r.headers, "transport") ?? "")[0];
        if (this.config.transport === "tcp") {
          const ch = answered?.interleaved ?? [2 * i, 2 * i + 1];
          channels.set(ch[0], { track: i, rtcp: false });
          channels.set(ch[1], { track: i, rtcp: true });
          rtcpOut.push((b) =>
            void conn.write(encodeInterleaved(ch[1], b)).catch(() => {})
          );
        } else {
          const [rtp, rtcp] = this.#udp.slice(-2) as [
            Deno.DatagramConn,
            Deno.DatagramConn,
          ];
          const serverRtcp = answered?.serverPort?.[1];
          const camera = url.hostname.replace(/^\[|\]$/g, "");
          this.#udpLoop(rtp, (b) => {
            gotMedia();
            try {
              for (const tag of receiver.rtp(i, b)) {
                this.#publish?.hub.pushTag(tag);
              }
            } catch (err) {
              closed(err);
            }
          });
          this.#udpLoop(rtcp, (b) => receiver.rtcp(i, b));
          if (serverRtcp) {
            rtcpOut.push((b) =>
              void rtcp.send(b, {
                transport: "udp",
                hostname: camera,
                port: serverRtcp,
              }).catch(() => {})
            );
          }
        }
      }
      // The stream is opened only now: a camera that fails DESCRIBE or SETUP leaves no hub.
      const opened = await startIngestPublish(this.#ctx, {
        protocol: "rtsp",
        app: this.config.name.split("/")[0]!,
        stream: this.config.name.split("/")[1]!,
        params: {},
        peer: `${url.hostname}:${url.port || RTSP_DEFAULT_PORT}`,
      }, () => this.#cleanup());
      if (!opened.allowed) {
        throw new SourceError(`publish refused: ${opened.description}`);
      }
      this.#publish = opened.publish;
      onInterleaved = (channel, data) => {
        const c = channels.get(channel);
        if (!c) return;
        if (c.rtcp) return receiver.rtcp(c.track, data);
        gotMedia();
        try {
          for (const tag of receiver.rtp(c.track, data)) {
            opened.publish.hub.pushTag(tag);
          }
        } catch (err) {
          closed(err);
        }
      };
      const played = await request("PLAY", base, [["Range", "npt=0.000-"]]);
      for (const e of parseRtpInfo(header(played.headers, "rtp-info") ?? "")) {
        const i = tracks.findIndex((t) =>
          e.url.endsWith(t.control) && t.control !== ""
        );
        if (i >= 0 && e.rtptime !== undefined) receiver.rtpInfo(i, e.rtptime);
      }
      this.#ctx.log.info("source playing", {
        source: this.config.name,
        url: redactUrl(this.config.url),
        tracks: tracks.map((t) => t.codec).join(","),
      });
      const ssrc = crypto.getRandomValues(new Uint32Array(1))[0]!;
      let lastKeepAlive = Date.now();
      let lastReport = 0;
      const keepAliveMs = Math.max(5, timeoutSeconds / 2) * 1000;
      const watchdog = (async () => {
        while (!this.#stopped) {
          const r = await Promise.race([
            ended.then(() => "ended" as const, () => "ended" as const),
            new Promise<"tick">((r) => setTimeout(() => r("tick"), 500)),
          ]);
          if (r === "ended") return;
          const now = Date.now();
          if (now - lastMediaMs > MEDIA_TIMEOUT_MS) {
            closed(
              new SourceError(`no media for ${MEDIA_TIMEOUT_MS / 1000} s`),
            );
            return;
          }
          if (now - lastReport >= RECEIVER_REPORT_INTERVAL_MS) {
            lastReport = now;
            const rr = encodeReceiverReport(ssrc, "meridian");
            for (const send of rtcpOut) send(rr);
          }
          if (now - lastKeepAlive >= keepAliveMs) {
            lastKeepAlive = now;
            request("OPTIONS", base).catch((err) => closed(err));
          }
        }
      })();
      try {
        await ended;
      } finally {
        closed();
        await watchdog;
      }
    } finally {
      this.#publish?.end();
      this.#publish = undefined;
      try {
        conn.close();
      } catch {
        // closed already
      }
      this.#conn = undefined;
      await readLoop;
    }
  }

  #publish: IngestPublish | undefined;

  #udpPair(): [Deno.DatagramConn, Deno.DatagramConn] {
    const rtp = Deno.listenDatagram({
      transport: "udp",
      hostname: "0.0.0.0",
      port: 0,
    });
    let rtcp: Deno.DatagramConn;
    try {
      rtcp = Deno.listenDatagram({
        transport: "udp",
        hostname: "0.0.0.0",
        port: (rtp.addr as Deno.NetAddr).port + 1,
      });
    } catch {
      rtcp = Deno.listenDatagram({
        transport: "udp",
        hostname: "0.0.0.0",
        port: 0,
      });
    }
    this.#udp.push(rtp, rtcp);
    return [rtp, rtcp];
  }

  #udpLoop(sock: Deno.DatagramConn, handle: (b: Uint8Array) => void): void {
    void (async () => {
      for (;;) {
        try {
          const [b] = await sock.receive(new Uint8Array(65_535));
          handle(b);
        } catch {
          return; // closed
        }
      }
    })();
  }
}

/** A track's SETUP URL: its control, absolute or relative to the Content-Base (RFC 2326 §C.1.1). */
export function controlUrl(base: string, track: SdpTrack): string {
  const c = track.control;
  if (/^rtsps?:\/\//i.test(c)) return c;
  if (c === "" || c === "*") return base;
  return base.endsWith("/") ? `${base}${c}` : `${base}/${c}`;
}
