/**
 * The relay of one origin: on-demand pulls from `origin.relay.upstreams` (the registry's
 * {@link DemandSource}), the upstream stream list, the judgement of relay requests from
 * downstream nodes, and what this node tells them it has.
 *
 * @module
 */

import type { OriginRelayConfig } from "../../config/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import type { StreamDirectory } from "../../store/mod.ts";
import type { Logger } from "../log.ts";
import type {
  DemandContext,
  DemandOutcome,
  DemandSource,
  StreamRegistry,
} from "../stream/registry.ts";
import type { RelayErrorCodeValue } from "./errors.ts";
import { openFlvPull } from "./pull_flv.ts";
import { openRtmpPull } from "./pull_rtmp.ts";
import { RelayPull, type RelayPullSummary } from "./pull.ts";
import {
  type ListedStream,
  MIN_REFRESH_MS,
  type RelayStreamListing,
  UpstreamStreamList,
} from "./stream_list.ts";
import {
  type OpenPull,
  parseUpstreams,
  type PullTls,
  servesApp,
  type Upstream,
} from "./upstream.ts";
import {
  admitPush,
  admitRelay,
  extendChain,
  type RawRelayMark,
  type RelayAdmission,
  type RelayPolicy,
} from "./wire.ts";

/** A viewer waits this much longer than a pull's own start budget before giving up (ms). */
const DEMAND_MARGIN_MS = 500;

/** Opens pulls over each upstream's transport, TLS ones trusting `tls` besides the roots. */
export function createOpenPull(tls: PullTls = {}): OpenPull {
  return (upstream, request, timeouts, handlers) =>
    upstream.kind === "rtmp"
      ? openRtmpPull(upstream, request, timeouts, handlers, tls)
      : openFlvPull(upstream, request, timeouts, handlers, tls);
}

/** Opens a pull over the upstream's transport (the built-in roots only). */
export const openPull: OpenPull = createOpenPull();

/** What {@link Relay} uses. */
export interface RelayDeps {
  readonly registry: StreamRegistry;
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  /** Live streams at once (`origin.maxStreams`): a pull past it is refused (503). */
  readonly maxStreams: number;
  /** The shared store's stream directory (`streamList: store`). */
  readonly directory?: StreamDirectory | undefined;
  /** This origin's id in that directory (known once its HTTP port is bound). */
  readonly ownOriginId?: () => string | undefined;
  /** @default openPull (RTMP or HTTP-FLV by the upstream's URL) */
  readonly open?: OpenPull;
  /** Stream-list requests. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** CA certificates trusted for `rtmps://` and `https://` upstreams (`tls.caFile`). */
  readonly caCerts?: readonly string[];
}

/** Random node id: loop detection needs only uniqueness, not a stable name. */
function randomNodeId(): string {
  return `n-${crypto.randomUUID().slice(0, 12)}`;
}

/** The refusal reasons `/metrics` counts. */
const REFUSAL_REASONS: Partial<Record<RelayErrorCodeValue, string>> = {
  RELAY_SECRET: "secret",
  RELAY_LOOP: "loop",
  RELAY_TOO_DEEP: "too_deep",
  RELAY_BAD_MARK: "bad_mark",
};

/** The relay (see the module notes). */
export class Relay implements DemandSource {
  /** This node's id in relay chains. */
  readonly nodeId: string;
  readonly policy: RelayPolicy;
  readonly upstreams: readonly Upstream[];
  readonly #config: OriginRelayConfig;
  readonly #deps: RelayDeps;
  readonly #open: OpenPull;
  readonly #list: UpstreamStreamList;
  readonly #client: Deno.HttpClient | undefined;
  readonly #pulls = new Map<string, RelayPull>();
  readonly #refused = new Map<string, number>();
  #switches = 0;
  #closed = false;

  constructor(config: OriginRelayConfig, deps: RelayDeps) {
    this.#config = config;
    this.#deps = deps;
    this.nodeId = config.nodeId || randomNodeId();
    this.policy = {
      secret: config.secret,
      nodeId: this.nodeId,
      maxDepth: config.maxDepth,
    };
    this.upstreams = parseUpstreams(config.upstreams);
    const caCerts = deps.caCerts ?? [];
    this.#client = caCerts.length > 0
      ? Deno.createHttpClient({ caCerts: [...caCerts] })
      : undefined;
    const client = this.#client;
    this.#open = deps.open ??
      createOpenPull({ caCerts, ...(client ? { client } : {}) });
    const baseFetch = deps.fetch ?? globalThis.fetch;
    const listFetch: typeof fetch = client
      ? (input, init) => baseFetch(input, { ...init, client })
      : baseFetch;
    this.#list = new UpstreamStreamList(this.upstreams, {
      mode: config.streamList,
      intervalMs: config.streamListIntervalMs,
      secret: config.secret,
      nodeId: this.nodeId,
    }, {
      log: deps.log,
      directory: deps.directory,
      ...(deps.ownOriginId === undefined
        ? {}
        : { ownOriginId: deps.ownOriginId }),
      fetch: listFetch,
    });
    this.#registerMetrics(deps.metrics);
  }

  /** Starts the stream-list polling. */
  start(): void {
    this.#list.start();
  }

  handles(app: string): boolean {
    return !this.#closed && this.upstreams.some((u) => servesApp(u, app));
  }

  /**
   * Judges a request that may be a downstream relay's pull (counted in `/metrics` when
   * refused).
   */
  admit(raw: RawRelayMark | undefined): RelayAdmission {
    return this.#counted(admitRelay(raw, this.policy));
  }

  /** Judges a publish that may be another origin's push (loop and depth only). */
  admitPush(raw: RawRelayMark | undefined): RelayAdmission {
    return this.#counted(admitPush(raw, this.policy));
  }

  #counted(a: RelayAdmission): RelayAdmission {
    if (a.kind === "refused") {
      const reason = REFUSAL_REASONS[a.error.code] ?? "other";
      this.#refused.set(reason, (this.#refused.get(reason) ?? 0) + 1);
    }
    return a;
  }

  async demand(
    app: string,
    name: string,
    context: DemandContext,
    signal?: AbortSignal,
  ): Promise<DemandOutcome> {
    const key = `${app}/${name}`;
    const registry = this.#deps.registry;
    if (registry.get(app, name)?.live) return { ok: true };
    const upstreams = this.upstreams.filter((u) => servesApp(u, app));
    if (upstreams.length === 0 || this.#closed) {
      return { ok: false, status: 404, message: `Stream not found: ${key}` };
    }
    // A pull that just ended (its map entry goes a moment later) is not joined.
    const live = (p: RelayPull | undefined) =>
      p !== undefined && p.state !== "ended" ? p : undefined;
    let pull = live(this.#pulls.get(key));
    if (!pull) {
      const listed = await this.#list.has(app, name, upstreams);
      if (listed === false) {
        this.#refused.set(
          "not_listed",
          (this.#refused.get("not_listed") ?? 0) + 1,
        );
        return {
          ok: false,
          status: 404,
          message: `Stream not found: ${key} (no upstream lists it)`,
        };
      }
      if (registry.get(app, name)?.live) return { ok: true };
      pull = live(this.#pulls.get(key));
    }
    if (!pull) {
      if (registry.size + this.#startingPulls() >= this.#deps.maxStreams) {
        return {
          ok: false,
          status: 503,
          message:
            `Cannot pull ${key}: the origin has its maximum of ${this.#deps.maxStreams} live streams`,
        };
      }
      pull = this.#startPull(app, name, context);
    }
    pull.touch();
    return await this.#wait(pull, signal);
  }

  touch(app: string, name: string): void {
    this.#pulls.get(`${app}/${name}`)?.touch();
  }

  /**
   * What this node tells a downstream asking with `exclude` (its chain): the streams published
   * here and those learned from upstream lists, none whose path holds an asker.
   */
  async listing(exclude: ReadonlySet<string>): Promise<RelayStreamListing> {
    // A downstream's miss re-checks here: let it see a stream published a moment ago upstream.
    await this.#list.refreshIfOlderThan(MIN_REFRESH_MS);
    const streams: ListedStream[] = [];
    const seen = new Set<string>();
    for (const s of this.#deps.registry.list()) {
      if (s.publisher.protocol === "relay") continue;
      seen.add(`${s.app}/${s.name}`);
      streams.push({ app: s.app, name: s.name, path: [this.nodeId] });
    }
    for (const e of this.#list.learned(exclude)) {
      if (seen.has(`${e.app}/${e.name}`)) continue;
      streams.push({ ...e, path: [...e.path, this.nodeId] });
    }
    return { nodeId: this.nodeId, streams };
  }

  /** Every pull, for status. */
  pulls(): RelayPullSummary[] {
    return [...this.#pulls.values()].map((p) => p.summary());
  }

  /** Stops every pull (their hubs end) and the list polling. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#list.close();
    const all = [...this.#pulls.values()];
    for (const p of all) p.close();
    await Promise.all(all.map((p) => p.done));
    this.#client?.close();
  }

  #startingPulls(): number {
    let n = 0;
    for (const p of this.#pulls.values()) if (p.state === "starting") n++;
    return n;
  }

  #startPull(app: string, name: string, context: DemandContext): RelayPull {
    const key = `${app}/${name}`;
    const c = this.#config;
    const pull = new RelayPull(
      app,
      name,
      extendChain(context.chain, this.nodeId),
      this.upstreams.filter((u) => servesApp(u, app)),
      {
        idleCloseMs: c.idleCloseMs,
        startTimeoutMs: c.startTimeoutMs,
        reconnectWindowMs: c.reconnectWindowMs,
        readTimeoutMs: c.readTimeoutMs,
        secret: c.secret,
      },
      {
        registry: this.#deps.registry,
        open: this.#open,
        log: this.#deps.log,
        onSwitch: () => this.#switches++,
      },
    );
    this.#pulls.set(key, pull);
    void pull.done.then(() => {
      if (this.#pulls.get(key) === pull) this.#pulls.delete(key);
    });
    return pull;
  }

  /** Waits for the pull's start, bounded, released early when the requester goes away. */
  #wait(pull: RelayPull, signal?: AbortSignal): Promise<DemandOutcome> {
    return new Promise<DemandOutcome>((resolve) => {
      const done = (o: DemandOutcome) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(o);
      };
      const onAbort = () =>
        done({ ok: false, status: 503, message: "Request went away" });
      const timer = setTimeout(
        () =>
          done({
            ok: false,
            status: 504,
            message:
              `Cannot pull ${pull.app}/${pull.name}: no upstream started within ${
                this.#config.startTimeoutMs / 1000
              } s`,
          }),
        this.#config.startTimeoutMs + DEMAND_MARGIN_MS,
      );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      void pull.ready.then(done);
    });
  }

  #registerMetrics(m: MetricsRegistry): void {
    m.collect(
      "meridian_origin_relay_pulls",
      "Relay pulls by state (starting, live, reconnecting)",
      "gauge",
      () => {
        const n = { starting: 0, live: 0, reconnecting: 0 };
        for (const p of this.#pulls.values()) {
          if (p.state !== "ended") n[p.state]++;
        }
        return Object.entries(n).map(([state, v]) => [{ state }, v]);
      },
    );
    m.collect(
      "meridian_origin_relay_pull_switches_total",
      "Relay pulls moved to another upstream after losing theirs",
      "counter",
      () => [[undefined, this.#switches]],
    );
    m.collect(
      "meridian_origin_relay_refused_total",
      "Relay requests refused by reason (secret, loop, too_deep, bad_mark) and demands answered 404 because no upstream lists the stream (not_listed)",
      "counter",
      () => [...this.#refused].map(([reason, n]) => [{ reason }, n]),
    );
  }
}
