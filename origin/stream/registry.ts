/**
 * The origin's live streams by `app/name`: who publishes, and hooks for packagers that attach to
 * every new publish (HLS, recorders).
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

import { Hub, type HubOptions, type HubSummary } from "./hub.ts";

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

/** Who publishes: peer address and protocol (rtmp, virtual, relay). */
export interface PublisherInfo {
  readonly peer: string;
  readonly protocol: string;
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
