/**
 * The origin's live streams by `app/name`: who publishes, and hooks for packagers that attach to
 * every new publish (HLS, recorders).
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

import {
  Hub,
  type HubOptions,
  type HubSummary,
  type PublisherInfo,
} from "./hub.ts";

/** A second publisher tried to take a stream key that is live. */
export class StreamBusyError extends CodedError<"STREAM_BUSY"> {
  override name = "StreamBusyError";
  constructor(readonly streamKey: string) {
    super(
      "STREAM_BUSY",
      `Cannot publish: stream '${streamKey}' is already live`,
    );
  }
}

/** Called for every new publish session (after the hub exists, before its first tag). */
export type PublishHook = (hub: Hub) => void;

export type { PublisherInfo } from "./hub.ts";

/** Who asks for a stream: a viewer (no chain), or a downstream relay's pull with its chain. */
export interface DemandContext {
  /** The node ids a relay pull has passed, first puller first (origin/relay/wire.ts). */
  readonly chain?: { readonly hops: number; readonly via: readonly string[] };
}

/** Why a demanded stream is not live: the status a viewer gets, and the reason. */
export interface DemandFailure {
  readonly ok: false;
  /** 404 nowhere, 502 upstream failed or refused, 503 full, 504 no answer, 508 loop or depth. */
  readonly status: 404 | 502 | 503 | 504 | 508;
  readonly message: string;
}

/** The outcome of a demand: live now, or why not. */
export type DemandOutcome = { readonly ok: true } | DemandFailure;

/**
 * A source that can make a stream live when it is asked for (the relay's on-demand pulls). The
 * registry asks it for a stream no publisher has; it keeps its pulls alive while touched.
 */
export interface DemandSource {
  /** True when this source may provide `app` (an upstream serves it). */
  handles(app: string): boolean;
  /** Makes `app/name` live here if it can, within its own bounded wait. Never rejects. */
  demand(
    app: string,
    name: string,
    context: DemandContext,
    signal?: AbortSignal,
  ): Promise<DemandOutcome>;
  /** A request for `app/name`'s output arrived (HLS has no viewer connection to count). */
  touch(app: string, name: string): void;
}

/**
 * Owns the map of live hubs. A hub leaves the map when its publisher ends it.
 *
 * @example
 * ```ts
 * import { StreamRegistry } from "./registry.ts";
 * import { silentLogger } from "../log.ts";
 * const enc = { tag: (t: { data: Uint8Array }) => t.data };
 * const reg = new StreamRegistry({ gopCache: true, maxGopCacheBytes: 1 << 20, flushIntervalMs: 0, encoders: { flv: enc, rtmp: enc }, log: silentLogger });
 * const hub = reg.startPublish("live", "t", { peer: "test", protocol: "rtmp" });
 * if (reg.get("live", "t") !== hub) throw new Error("not registered");
 * hub.end();
 * if (reg.get("live", "t")) throw new Error("still registered");
 * ```
 */
export class StreamRegistry {
  #hubs = new Map<string, Hub>();
  #hooks = new Set<PublishHook>();
  #endHooks = new Set<PublishHook>();
  #options: HubOptions;
  #demand: DemandSource | undefined;

  constructor(options: HubOptions) {
    this.#options = options;
  }

  /**
   * Starts a publish session.
   * @throws {StreamBusyError} When the key is already live.
   */
  startPublish(app: string, name: string, info: PublisherInfo): Hub {
    const key = `${app}/${name}`;
    if (this.#hubs.has(key)) throw new StreamBusyError(key);
    const hub = new Hub(app, name, info, this.#options, () => {
      if (this.#hubs.get(key) === hub) this.#hubs.delete(key);
      for (const hook of this.#endHooks) hook(hub);
    });
    this.#hubs.set(key, hub);
    for (const hook of this.#hooks) hook(hub);
    return hub;
  }

  get(app: string, name: string): Hub | undefined {
    return this.#hubs.get(`${app}/${name}`);
  }

  /** Sets where streams nobody publishes here may come from (the relay). */
  setDemandSource(source: DemandSource | undefined): void {
    this.#demand = source;
  }

  /** True when a stream of `app` that is not live may still be made live on request. */
  demandable(app: string): boolean {
    return this.#demand?.handles(app) ?? false;
  }

  /**
   * The live hub of `app/name`, made live by the demand source if it can (a relay pull, the
   * caller waiting while it starts, bounded by the source), or why not. Without a source, or
   * for an app it does not serve, a stream that is not live is a 404 at once.
   */
  async acquire(
    app: string,
    name: string,
    context: DemandContext = {},
    signal?: AbortSignal,
  ): Promise<Hub | DemandFailure> {
    const hub = this.get(app, name);
    if (hub?.live) return hub;
    const source = this.#demand;
    if (source === undefined || !source.handles(app)) {
      return {
        ok: false,
        status: 404,
        message: `Stream not found: ${app}/${name}`,
      };
    }
    const outcome = await source.demand(app, name, context, signal);
    if (!outcome.ok) return outcome;
    const now = this.get(app, name);
    return now?.live ? now : {
      ok: false,
      status: 404,
      message: `Stream not found: ${app}/${name}`,
    };
  }

  /** Tells the demand source that `app/name`'s output was asked for. */
  touch(app: string, name: string): void {
    this.#demand?.touch(app, name);
  }

  /** Runs `hook` for every publish from now on. Returns the unsubscriber. */
  onPublish(hook: PublishHook): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  /** Runs `hook` for every publish that ends from now on (after it left the map). */
  onUnpublish(hook: PublishHook): () => void {
    this.#endHooks.add(hook);
    return () => this.#endHooks.delete(hook);
  }

  /** The live hubs (for a scrape: no summaries built). */
  hubs(): IterableIterator<Hub> {
    return this.#hubs.values();
  }

  list(): HubSummary[] {
    return [...this.#hubs.values()].map((h) => h.summary());
  }

  get size(): number {
    return this.#hubs.size;
  }

  get viewerCount(): number {
    let n = 0;
    for (const h of this.#hubs.values()) n += h.viewerCount;
    return n;
  }

  /** Ends every stream (shutdown). */
  endAll(): void {
    for (const h of [...this.#hubs.values()]) h.end();
  }
}
