/**
 * Static push (`origin.relay.forward`): every live stream a rule names is published over RTMP
 * to another origin (a backup, a region) or a platform's ingest URL with its stream key, for as
 * long as it is live here, reconnecting with backoff when the target drops it.
 *
 * A push starts at the stream's configuration (onMetaData, sequence headers) and its next
 * keyframe, so the target can decode from its first frame. A target slower than the stream
 * (over {@link MAX_PUSH_QUEUE_BYTES} unsent) is dropped and reconnected, never slowing the
 * publisher or the other outputs. Pushes carry this node's relay chain (never the secret: a
 * third party must not get it) in the `connect` command object, so an origin that would get its
 * own stream back refuses it as a loop.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";
import {
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoKeyframe,
  isVideoSequenceHeader,
} from "../../codec/flv/mod.ts";
import { RtmpProtocolError } from "../../codec/rtmp/mod.ts";
import type { RelayForwardConfig } from "../../config/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import { RtmpClientSession } from "../../protocol/rtmp/mod.ts";
import type { Logger } from "../log.ts";
import { RTMP_RELAY_FIELD } from "../rtmp/session.ts";
import { SocketWriter } from "../rtmp/socket_writer.ts";
import type { Hub } from "../stream/hub.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import { extendChain, type RelayChain, rtmpRelayField } from "./wire.ts";

/** First pause before a reconnect (ms); doubled after each failure up to the maximum. */
export const PUSH_BACKOFF_MIN_MS = 1_000;
/** Longest pause between reconnects (ms). */
export const PUSH_BACKOFF_MAX_MS = 30_000;
/** A push that lasted this long starts its backoff over (ms). */
export const PUSH_STABLE_MS = 30_000;
/** Connect, handshake and `NetStream.Publish.Start` within this (ms). */
export const PUSH_START_TIMEOUT_MS = 10_000;
/** Unsent bytes past which the target counts as too slow and the push reconnects. */
export const MAX_PUSH_QUEUE_BYTES = 8 * 1024 * 1024;
/** Bytes read from a push's socket at a time (the target sends little: acks, statuses). */
const READ_BUFFER_BYTES = 16 * 1024;

/** One rule, parsed. */
export interface ForwardRule {
  /** The URL as status shows it: the stream key replaced by `<streamKey>`. */
  readonly shown: string;
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  /** The app path with `{app}`/`{stream}` placeholders, and its query. */
  readonly app: string;
  readonly stream: string | undefined;
  readonly query: string;
  readonly streamKey: string;
  readonly apps: ReadonlySet<string>;
  readonly streams: ReadonlySet<string>;
}

/** Parses the rules (already validated by config/origin_schema.ts). */
export function parseForwardRules(
  configs: readonly RelayForwardConfig[],
): ForwardRule[] {
  return configs.map((c) => {
    const u = new URL(c.url);
    const tls = u.protocol === "rtmps:";
    const [app, stream] = u.pathname.split("/").filter((p) => p !== "").map(
      decodeURIComponent,
    );
    const base = `${u.protocol}//${u.host}/${app}`;
    return {
      shown: c.streamKey !== ""
        ? `${base}/<streamKey>`
        : `${base}/${stream ?? "{stream}"}`,
      tls,
      hostname: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port === "" ? (tls ? 443 : 1935) : Number(u.port),
      app: app!,
      stream,
      query: u.search,
      streamKey: c.streamKey,
      apps: new Set(c.apps),
      streams: new Set(c.streams),
    };
  });
}

/** True when `rule` forwards `app/name`. */
export function forwards(
  rule: ForwardRule,
  app: string,
  name: string,
): boolean {
  return (rule.apps.size === 0 || rule.apps.has(app)) &&
    (rule.streams.size === 0 || rule.streams.has(name));
}

/** Where a push is. */
export type PushState = "connecting" | "publishing" | "backoff" | "stopped";

/** A push as status shows it (no stream key). */
export interface RelayPushSummary {
  readonly stream: string;
  readonly target: string;
  readonly state: PushState;
  readonly since: string;
  readonly connects: number;
  readonly bytesOut: number;
  readonly lastError: string;
}

const fill = (s: string, app: string, name: string) =>
  s.replaceAll("{app}", app).replaceAll("{stream}", name);

/** One stream pushed to one target, reconnecting with backoff while the stream is live. */
class PushSession {
  readonly #hub: Hub;
  readonly #rule: ForwardRule;
  readonly #chain: RelayChain;
  readonly #log: Logger;
  #state: PushState = "connecting";
  #sinceMs = Date.now();
  #connects = 0;
  #bytesOut = 0;
  #lastError = "";
  #stopped = false;
  #conn: Deno.Conn | undefined;
  #wake: (() => void) | undefined;
  readonly done: Promise<void>;

  readonly #caCerts: readonly string[];

  constructor(
    hub: Hub,
    rule: ForwardRule,
    chain: RelayChain,
    log: Logger,
    caCerts: readonly string[],
  ) {
    this.#caCerts = caCerts;
    this.#hub = hub;
    this.#rule = rule;
    this.#chain = chain;
    this.#log = log;
    this.done = this.#run();
  }

  get state(): PushState {
    return this.#state;
  }

  get bytesOut(): number {
    return this.#bytesOut;
  }

  get connects(): number {
    return this.#connects;
  }

  summary(): RelayPushSummary {
    return {
      stream: `${this.#hub.app}/${this.#hub.name}`,
      target: fill(this.#rule.shown, this.#hub.app, this.#hub.name),
      state: this.#state,
      since: new Date(this.#sinceMs).toISOString(),
      connects: this.#connects,
      bytesOut: this.#bytesOut,
      lastError: this.#lastError,
    };
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#wake?.();
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
  }

  #set(state: PushState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#sinceMs = Date.now();
  }

  async #run(): Promise<void> {
    let backoff = PUSH_BACKOFF_MIN_MS;
    while (!this.#stopped && this.#hub.live) {
      this.#set("connecting");
      const startedAt = Date.now();
      const error = await this.#pushOnce();
      if (this.#stopped || !this.#hub.live) break;
      this.#lastError = error;
      if (Date.now() - startedAt >= PUSH_STABLE_MS) {
        backoff = PUSH_BACKOFF_MIN_MS;
      }
      this.#log.warn("relay push lost: reconnecting", {
        stream: `${this.#hub.app}/${this.#hub.name}`,
        target: fill(this.#rule.shown, this.#hub.app, this.#hub.name),
        error,
        retrySeconds: backoff / 1000,
      });
      this.#set("backoff");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
      backoff = Math.min(backoff * 2, PUSH_BACKOFF_MAX_MS);
    }
    this.#set("stopped");
  }

  /** One connection: until it fails (the reason) or the push stops (""). */
  async #pushOnce(): Promise<string> {
    const r = this.#rule;
    const app = fill(r.app, this.#hub.app, this.#hub.name);
    const name = r.streamKey !== ""
      ? r.streamKey
      : fill(r.stream ?? "{stream}", this.#hub.app, this.#hub.name);
    const host = r.hostname.includes(":") ? `[${r.hostname}]` : r.hostname;
    const tcUrl = `${r.tls ? "rtmps" : "rtmp"}://${host}:${r.port}/${app}`;
    let failure = "";
    let unlisten = () => {};
    let started = false;
    let waitingKeyframe = false;
    let writer: SocketWriter | undefined;
    const fail = (why: string) => {
      if (failure === "") failure = why;
      try {
        this.#conn?.close();
      } catch {
        // already closed
      }
    };
    const session: RtmpClientSession = new RtmpClientSession({
      mode: "publish",
      tcUrl: `${tcUrl}${r.query}`,
      app: `${app}${r.query}`,
      stream: name,
      // The chain only: the shared secret is for our cascade, never a third party's ingest.
      connectFields: { [RTMP_RELAY_FIELD]: rtmpRelayField(this.#chain, "") },
      onEvent: (e) => {
        if (e.type === "started") {
          started = true;
          this.#connects++;
          this.#set("publishing");
          waitingKeyframe = this.#hub.codecs.video !== undefined;
          // The hub's configuration tags first, then its live tags as they come.
          unlisten = this.#hub.addListener({
            onTag: (tag) => send(tag),
            onEnd: () => this.stop(),
          });
        } else if (e.type === "refused") {
          fail(
            `refused: ${e.code}${e.description ? `: ${e.description}` : ""}`,
          );
        } else if (e.type === "status" && e.level === "error") {
          fail(`error status: ${e.code}`);
        }
      },
    });
    const flush = () => {
      const out = session.takeOutput();
      if (out.length === 0) return;
      const bytes = concatBytes(out);
      if (!writer!.enqueue(bytes, MAX_PUSH_QUEUE_BYTES)) {
        fail(`target too slow: over ${MAX_PUSH_QUEUE_BYTES} bytes unsent`);
        return;
      }
      this.#bytesOut += bytes.byteLength;
    };
    const send = (tag: FlvTag) => {
      if (!started || failure !== "") return;
      const d = tag.data;
      const config = tag.type === FlvTagType.Script ||
        (tag.type === FlvTagType.Video && isVideoSequenceHeader(d)) ||
        (tag.type === FlvTagType.Audio && isAudioSequenceHeader(d));
      if (waitingKeyframe && !config) {
        if (tag.type !== FlvTagType.Video || !isVideoKeyframe(d)) return;
        waitingKeyframe = false;
      }
      try {
        session.publishTag(tag);
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e));
        return;
      }
      flush();
    };
    const timer = setTimeout(
      () => {
        if (!started) {
          fail(`no publish start within ${PUSH_START_TIMEOUT_MS / 1000} s`);
        }
      },
      PUSH_START_TIMEOUT_MS,
    );
    try {
      const options = { hostname: r.hostname, port: r.port };
      this.#conn = r.tls
        ? await Deno.connectTls({ ...options, caCerts: [...this.#caCerts] })
        : await Deno.connect(options);
      if (this.#stopped) return "";
      const conn = this.#conn;
      if (!r.tls) (conn as Deno.TcpConn).setNoDelay(true);
      writer = new SocketWriter(conn, (err) => fail(`write failed: ${err}`));
      writer.enqueue(session.start());
      const buf = new Uint8Array(READ_BUFFER_BYTES);
      while (failure === "" && !this.#stopped) {
        const n = await conn.read(buf);
        if (n === null) {
          fail("the target closed the connection");
          break;
        }
        session.receive(buf.subarray(0, n));
        flush();
      }
    } catch (e) {
      if (!this.#stopped && failure === "") {
        fail(
          e instanceof RtmpProtocolError
            ? `not RTMP: ${e.message}`
            : `connection failed: ${e instanceof Error ? e.message : e}`,
        );
      }
    } finally {
      clearTimeout(timer);
      unlisten();
      if (this.#stopped && started && writer) {
        // A clean end: FCUnpublish and deleteStream, given a moment to go out.
        session.close();
        flush();
        await Promise.race([
          writer.drained(),
          new Promise((r) => setTimeout(r, 500)),
        ]);
      }
      writer?.close();
      try {
        this.#conn?.close();
      } catch {
        // already closed
      }
      this.#conn = undefined;
    }
    return this.#stopped ? "" : failure;
  }
}

/** What {@link RelayForwarder} uses. */
export interface RelayForwarderDeps {
  readonly registry: StreamRegistry;
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  /** This node's id in relay chains. */
  readonly nodeId: string;
  /** CA certificates trusted for `rtmps://` targets besides the roots (`tls.caFile`). */
  readonly caCerts?: readonly string[];
}

/**
 * Starts a push for every rule a new publish matches, and stops it with the stream.
 *
 * @example
 * ```ts ignore
 * const f = new RelayForwarder(config.relay.forward, { registry, log, metrics, nodeId });
 * f.start();
 * ```
 */
export class RelayForwarder {
  readonly #rules: readonly ForwardRule[];
  readonly #deps: RelayForwarderDeps;
  readonly #sessions = new Set<PushSession>();
  #unsubscribe = () => {};

  constructor(
    configs: readonly RelayForwardConfig[],
    deps: RelayForwarderDeps,
  ) {
    this.#rules = parseForwardRules(configs);
    this.#deps = deps;
    deps.metrics.collect(
      "meridian_origin_relay_pushes",
      "Relay pushes (origin.relay.forward) by state (connecting, publishing, backoff)",
      "gauge",
      () => {
        const n = { connecting: 0, publishing: 0, backoff: 0 };
        for (const s of this.#sessions) {
          if (s.state !== "stopped") n[s.state]++;
        }
        return Object.entries(n).map(([state, v]) => [{ state }, v]);
      },
    );
    deps.metrics.collect(
      "meridian_origin_relay_push_bytes_total",
      "Bytes sent by the relay pushes now running",
      "counter",
      () => {
        let n = 0;
        for (const s of this.#sessions) n += s.bytesOut;
        return [[undefined, n]];
      },
    );
  }

  /** Watches publishes from now on. */
  start(): void {
    if (this.#rules.length === 0) return;
    this.#unsubscribe = this.#deps.registry.onPublish((hub) => {
      for (const rule of this.#rules) {
        if (!forwards(rule, hub.app, hub.name)) continue;
        const chain = extendChain(hub.publisher.chain, this.#deps.nodeId);
        const session = new PushSession(
          hub,
          rule,
          chain,
          this.#deps.log,
          this.#deps.caCerts ?? [],
        );
        this.#sessions.add(session);
        void session.done.then(() => this.#sessions.delete(session));
      }
    });
  }

  pushes(): RelayPushSummary[] {
    return [...this.#sessions].map((s) => s.summary());
  }

  /** Stops every push (each ends its publish cleanly). */
  async close(): Promise<void> {
    this.#unsubscribe();
    const all = [...this.#sessions];
    for (const s of all) s.stop();
    await Promise.all(all.map((s) => s.done));
  }
}
