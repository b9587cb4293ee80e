/**
 * Live HTTP-FLV fan-out: one upstream connection per live stream per edge, shared by all its
 * viewers.
 *
 * The upstream body is parsed with the incremental `FlvReader`; tags feed the shared live
 * fan-out (`live/`, the origin's too) that gives late joiners header, metadata, sequence headers and the GOP cache
 * at once and coalesces writes into one shared buffer per interval (CEILINGS.md: the number of
 * writes per viewer, not the bytes, sets the cost). When the upstream breaks, the session
 * reconnects to another origin and viewers stay connected; timestamps are rebased so they keep
 * increasing across the switch. The upstream closes `idleCloseMs` after the last viewer leaves.
 *
 * @module
 */

import { createLiveBody } from "../../net/mod.ts";
import {
  encodeFlvHeader,
  encodeFlvTag,
  FlvReader,
} from "../../codec/flv/mod.ts";
import type { Logger } from "../../log/mod.ts";
import {
  type EdgeAccess,
  refusalResponse,
  UNAVAILABLE,
} from "../access/edge_access.ts";
import {
  ACCESS_MARKER_HEADER,
  type AccessMark,
  parseAccessMark,
} from "../access/marker.ts";
import { UpstreamError } from "../errors.ts";
import type { EdgeStats } from "../stats.ts";
import type { UpstreamClient, UpstreamResponse } from "./client.ts";
import type { HealthMonitor } from "./health.ts";
import {
  type LiveEncoder,
  LiveFanout,
  type LiveViewer,
  TimestampRebaser,
} from "../../live/mod.ts";

/** The edge serves one format: FLV, each tag encoded once for every viewer. */
const FLV_ENCODER: LiveEncoder = {
  header: encodeFlvHeader,
  tag: encodeFlvTag,
};

/** Options of {@link FlvFanout}: the `edge.live` slice plus the upstream timeout. */
export interface FlvFanoutOptions {
  readonly flushIntervalMs: number;
  readonly maxViewerQueueBytes: number;
  readonly maxGopCacheBytes: number;
  readonly idleCloseMs: number;
  readonly reconnectWindowMs: number;
  /** The longest pause inside the upstream body before it counts as lost (ms). */
  readonly readTimeoutMs: number;
}

/** What {@link FlvFanout} uses. */
export interface FlvFanoutDeps {
  readonly upstream: UpstreamClient;
  readonly health: HealthMonitor;
  readonly stats: EdgeStats;
  readonly log: Logger;
  /**
   * Checks new viewers of streams the origin marked as protected (`X-Meridian-Access`).
   * Without it nobody may join a protected stream's shared upstream (503); the first viewer,
   * whose token the origin checks, still plays.
   */
  readonly access?: EdgeAccess | undefined;
}

/** A snapshot of one session for `/healthz`, `/metrics` and tests. */
export interface FlvSessionSummary {
  readonly path: string;
  /** The origin currently feeding it, if connected. */
  readonly origin: string | undefined;
  readonly viewers: number;
  readonly bytesIn: number;
  readonly reconnects: number;
  readonly connected: boolean;
}

/** Pause between reconnect attempts once every origin was tried. */
const RECONNECT_BACKOFF_MS = 200;

type Ready = { ok: true } | { ok: false; status: number; message: string };

class LiveFlvSession {
  /** Path and query: the query (a token) goes to the origin on the first connect. */
  readonly path: string;
  /** The path without its query: what logs name (never a token). */
  readonly stream: string;
  readonly hub: LiveFanout;
  readonly ready: Promise<Ready>;
  origin: string | undefined;
  bytesIn = 0;
  reconnects = 0;
  connected = false;
  /** The origin's access mark, from the last upstream connection's response. */
  access: AccessMark | undefined;

  readonly #o: FlvFanoutOptions;
  readonly #deps: FlvFanoutDeps;
  readonly #onEnd: () => void;
  #resolveReady!: (r: Ready) => void;
  #closed = false;
  #current: UpstreamResponse | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  /** Timestamps kept increasing across origin switches (live/rebase.ts, shared with relays). */
  readonly #rebaser = new TimestampRebaser();
  readonly done: Promise<void>;

  constructor(
    path: string,
    options: FlvFanoutOptions,
    deps: FlvFanoutDeps,
    onEnd: () => void,
  ) {
    this.path = path;
    const stream = path.split("?")[0]!;
    this.stream = stream;
    this.#o = options;
    this.#deps = deps;
    this.#onEnd = onEnd;
    this.hub = new LiveFanout({
      gopCache: options.maxGopCacheBytes > 0,
      flushIntervalMs: options.flushIntervalMs,
      maxGopCacheBytes: options.maxGopCacheBytes,
      encoders: { flv: FLV_ENCODER },
      onDrop: (v, reason) =>
        deps.log.info("viewer dropped", { stream, viewer: v.id, reason }),
    });
    this.ready = new Promise((r) => this.#resolveReady = r);
    this.done = this.#run().catch((e) => {
      deps.log.error("live session failed", { stream, error: String(e) });
    }).finally(() => this.#finish("upstream session ended"));
  }

  #finish(reason: string): void {
    this.#closed = true;
    this.#resolveReady({ ok: false, status: 502, message: reason });
    this.hub.end(reason);
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#onEnd();
  }

  /** Stops the session (idle, purge or shutdown); viewers get a clean end. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#current?.abort();
    this.#wake?.();
  }

  viewerJoined(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  viewerLeft(): void {
    if (this.hub.viewerCount > 0 || this.#closed) return;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.hub.viewerCount === 0) {
        this.#deps.log.info("closing idle upstream", { stream: this.stream });
        this.close();
      }
    }, this.#o.idleCloseMs);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    let first = true;
    let exclude = new Set<string>();
    let lostAt = 0;
    /** The first connect's 404s: redundant origins may not all have the stream. */
    let notFound: UpstreamResponse | undefined;
    while (!this.#closed) {
      let up: UpstreamResponse | undefined;
      try {
        up = await this.#deps.upstream.fetch({
          path: this.path,
          exclude,
          retryOn5xx: true,
        });
      } catch (e) {
        if (first && notFound) {
          // Every origin was asked: none has it (the others failed or were not there).
          this.#resolveReady({
            ok: false,
            status: 404,
            message: `origin ${notFound.origin.url} answered 404`,
          });
          return;
        }
        if (first) {
          // The viewer gets a 502: say why here, once.
          this.#deps.log.warn("live upstream failed", {
            stream: this.stream,
            origin: e instanceof UpstreamError ? e.origin : undefined,
            error: e instanceof Error ? e.message : String(e),
          });
          this.#resolveReady({ ok: false, status: 502, message: String(e) });
          return;
        }
      }
      if (up && up.response.status !== 200) {
        const status = up.response.status;
        await up.response.body?.cancel().catch(() => {});
        if (first && status === 404) {
          // A publisher may push to one origin of several (origin redundancy, a backup that
          // only a forward feeds): ask the others before the viewer gets a 404.
          notFound = up;
          exclude.add(up.origin.id);
          continue;
        }
        if (first) {
          if (status >= 500) {
            this.#deps.log.warn("live upstream failed", {
              stream: this.stream,
              origin: up.origin.url,
              error: `origin answered ${status}`,
            });
          }
          this.#resolveReady({
            ok: false,
            status: status >= 500 ? 502 : status,
            message: `origin ${up.origin.url} answered ${status}`,
          });
          return;
        }
        exclude.add(up.origin.id);
        up = undefined;
      }
      if (!up) {
        if (this.#closed) return;
        if (Date.now() - lostAt > this.#o.reconnectWindowMs) {
          this.#deps.log.warn("live stream lost on every origin", {
            stream: this.stream,
          });
          return;
        }
        // Every origin tried: start over after a pause (one may have come back).
        exclude = new Set();
        await this.#sleep(RECONNECT_BACKOFF_MS);
        continue;
      }
      if (first) {
        first = false;
        this.#resolveReady({ ok: true });
      } else {
        this.reconnects++;
        this.#deps.log.info("live stream switched origin", {
          stream: this.stream,
          origin: up.origin.url,
        });
      }
      this.#current = up;
      this.access = parseAccessMark(up.response.headers);
      this.origin = up.origin.id;
      this.connected = true;
      exclude = new Set();
      const broke = await this.#pump(up);
      this.connected = false;
      this.#current = undefined;
      if (this.#closed) return;
      if (broke) {
        // One stream's body (its publisher may have stalled): check the origin, do not count it.
        this.#deps.health.reportSuspect(up.origin.id, "live body broke");
      }
      // Either way try the others first: a clean end on one origin may be its restart.
      exclude.add(up.origin.id);
      lostAt = Date.now();
      this.#rebaser.cut();
      this.hub.breakGop();
    }
  }

  /** Reads one upstream connection. @returns true when it broke (error or timeout). */
  async #pump(up: UpstreamResponse): Promise<boolean> {
    const body = up.response.body;
    if (!body) return false;
    const reader = body.getReader();
    const flv = new FlvReader();
    let headerSeen = false;
    try {
      for (;;) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        if (this.#o.readTimeoutMs > 0) {
          timer = setTimeout(() => up.abort(), this.#o.readTimeoutMs);
        }
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } finally {
          clearTimeout(timer);
        }
        if (r.done) return false;
        this.bytesIn += r.value.byteLength;
        flv.push(r.value);
        for (let tag = flv.pull(); tag; tag = flv.pull()) {
          if (!headerSeen && flv.header) {
            headerSeen = true;
            this.hub.setMedia(flv.header.hasAudio, flv.header.hasVideo);
          }
          this.hub.pushTag(this.#rebaser.retime(tag));
        }
      }
    } catch (e) {
      if (!this.#closed) {
        this.#deps.log.warn("live upstream broke", {
          stream: this.stream,
          origin: up.origin.url,
          error: e instanceof Error ? e.message : String(e),
        });
      }
      return true;
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  summary(): FlvSessionSummary {
    return {
      // The stream, never the first viewer's query (its token): this reaches /metrics and
      // the admin API.
      path: this.path.split("?")[0]!,
      origin: this.origin,
      viewers: this.hub.viewerCount,
      bytesIn: this.bytesIn,
      reconnects: this.reconnects,
      connected: this.connected,
    };
  }
}

/**
 * All live HTTP-FLV sessions of one edge.
 *
 * @example
 * ```ts ignore
 * const fanout = new FlvFanout(options, { upstream, health, stats, log });
 * app.get("/:app/:file{.+\\.flv}", (c) => fanout.attach("/live/a.flv", peer));
 * ```
 */
export class FlvFanout {
  readonly #o: FlvFanoutOptions;
  readonly #deps: FlvFanoutDeps;
  readonly #sessions = new Map<string, LiveFlvSession>();
  #viewerSeq = 0;

  constructor(options: FlvFanoutOptions, deps: FlvFanoutDeps) {
    this.#o = options;
    this.#deps = deps;
  }

  /** Total viewers over every session. */
  get viewerCount(): number {
    let n = 0;
    for (const s of this.#sessions.values()) n += s.hub.viewerCount;
    return n;
  }

  sessions(): FlvSessionSummary[] {
    return [...this.#sessions.values()].map((s) => s.summary());
  }

  /**
   * Attaches a viewer to the live stream at `path` (e.g. `/live/demo.flv`), opening the upstream
   * if this is the first viewer.
   *
   * @param path The stream path; the query (access token) is forwarded on the first connect.
   * @param peer For logs.
   * @returns A streaming `video/x-flv` response, or the origin's error status.
   */
  async attach(
    path: string,
    peer: string,
    retry = true,
  ): Promise<Response> {
    const streamKey = path.split("?")[0]!;
    let session = this.#sessions.get(streamKey);
    const joined = session !== undefined;
    if (!session) {
      const s: LiveFlvSession = new LiveFlvSession(
        path,
        this.#o,
        this.#deps,
        () => {
          if (this.#sessions.get(streamKey) === s) {
            this.#sessions.delete(streamKey);
          }
        },
      );
      session = s;
      this.#sessions.set(streamKey, s);
    }
    session.viewerJoined();
    const ready = await session.ready;
    if (!ready.ok) {
      session.viewerLeft();
      if (joined && retry && (ready.status === 401 || ready.status === 403)) {
        // The origin refused the viewer that opened the upstream (its token), not this one:
        // this viewer opens its own, with its own token.
        if (this.#sessions.get(streamKey) === session) {
          this.#sessions.delete(streamKey);
        }
        return await this.attach(path, peer, false);
      }
      return new Response(ready.message, {
        status: ready.status,
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "cache-status": `Meridian; fwd=miss; fwd-status=${ready.status}`,
          "x-cache": "MISS",
        },
      });
    }
    // The origin checked (and spent) the token of the viewer that opened the upstream; every
    // viewer joining a protected stream's upstream spends a use of its own here.
    const mark = session.access;
    let subject: string | undefined;
    if (mark !== undefined) {
      const url = new URL(path, "http://edge");
      if (!joined) {
        subject = url.searchParams.get("token") ?? undefined;
      } else {
        const access = this.#deps.access;
        const grant = access
          ? await access.authorizeJoin(url, mark)
          : UNAVAILABLE;
        if (!grant.ok) {
          session.viewerLeft();
          this.#deps.log.info("viewer refused", {
            stream: streamKey,
            peer,
            reason: grant.reason,
          });
          return refusalResponse(grant, mark);
        }
        subject = grant.subject;
      }
    }
    return this.#viewerResponse(
      session,
      `${peer}#${++this.#viewerSeq}`,
      joined,
      subject,
    );
  }

  #viewerResponse(
    session: LiveFlvSession,
    id: string,
    joined: boolean,
    subject: string | undefined,
  ): Response {
    const stats = this.#deps.stats;
    const access = this.#deps.access;
    let unwatch = () => {};
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      unwatch();
      session.hub.removeViewer(viewer);
      session.viewerLeft();
    };
    // A live stream ends with its connection: framed by close, the same bytes to every socket.
    const { response, out } = createLiveBody({
      maxQueueBytes: this.#o.maxViewerQueueBytes,
      headers: {
        "content-type": "video/x-flv",
        "cache-control": "no-cache, no-store",
        "access-control-allow-origin": "*",
        // A viewer that joined an open upstream costs the origin nothing: a hit.
        "cache-status": joined
          ? "Meridian; hit; detail=live-fanout"
          : "Meridian; fwd=miss; detail=live-fanout",
        "x-cache": joined ? "HIT" : "MISS",
        // Lets an edge below this one (this one as its shield) learn the mark too.
        ...(session.access === undefined
          ? {}
          : { [ACCESS_MARKER_HEADER]: session.access }),
      },
      gone: leave,
    });
    let open = true;
    const viewer: LiveViewer = {
      format: "flv",
      id,
      write(bytes) {
        if (!open) return false;
        stats.sent(bytes.byteLength);
        return out.write(bytes);
      },
      close(reason, dropped) {
        if (!open) return;
        open = false;
        out.end(dropped, reason);
        leave();
      },
    };
    // A revoked token ends its own viewer (the shared upstream plays on for the others).
    if (access && subject !== undefined) {
      unwatch = access.watch(subject, () => {
        this.#deps.log.info("viewer's token revoked", {
          stream: session.stream,
          viewer: id,
        });
        session.hub.removeViewer(viewer);
        // A clean end: the player stops as at the end of a stream.
        viewer.close("token revoked", false);
      });
    }
    session.hub.addViewer(viewer);
    return response;
  }

  /** Ends sessions whose path starts with `prefix` (a stream purge). @returns how many. */
  closeMatching(prefix: string): number {
    let n = 0;
    for (const [k, s] of this.#sessions) {
      if (k.startsWith(prefix)) {
        s.close();
        n++;
      }
    }
    return n;
  }

  /** Ends every session and waits for their upstream reads to stop. */
  async close(): Promise<void> {
    const all = [...this.#sessions.values()];
    for (const s of all) s.close();
    await Promise.all(all.map((s) => s.done));
  }
}
