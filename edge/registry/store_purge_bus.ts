/**
 * A {@link PurgeBus} over the shared store's change feed: a purge published by one edge (or by
 * the control role, as a `purge` feed event) reaches every edge that shares the store, across
 * processes and hosts.
 *
 * Propagation takes one feed poll of the receiving store; the bus asks its store to poll at
 * least every `pollIntervalMs` (`edge.purgePollIntervalMs`, 100 ms by default) while it is open.
 *
 * @module
 */

import { describeError, type Logger } from "../../log/mod.ts";
import type { FeedEntry, SharedStore } from "../../store/mod.ts";
import type { PurgeBus, PurgeMessage } from "../admin/purge.ts";

/** `sourceId` of purges the control role (or anything but an edge) published. */
export const CONTROL_SOURCE_ID = "control";

/** Options of {@link StorePurgeBus}. */
export interface StorePurgeBusOptions {
  /** Feed poll interval requested from the store (ms): `edge.purgePollIntervalMs`. */
  readonly pollIntervalMs: number;
  /** Where handler failures are reported. */
  readonly log?: Logger;
}

/**
 * The store-backed purge bus.
 *
 * @example
 * ```ts
 * import { KvStore } from "../../store/mod.ts";
 * import { StorePurgeBus } from "./store_purge_bus.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await KvStore.open(`${dir}/m.kv`);
 * const bus = new StorePurgeBus(store, { pollIntervalMs: 100 });
 * const got = new Promise((resolve) => bus.subscribe(resolve));
 * await bus.publish({ sourceId: "e1", request: { urls: ["/a.ts"], prefixes: [], streams: [], all: false } });
 * await got;
 * bus.close();
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class StorePurgeBus implements PurgeBus {
  readonly #store: Pick<
    SharedStore,
    "publish" | "subscribe" | "requestPollInterval"
  >;
  readonly #log: Logger | undefined;
  readonly #unsubscribers = new Set<() => void>();
  readonly #releasePoll: () => void;

  constructor(
    store: Pick<SharedStore, "publish" | "subscribe" | "requestPollInterval">,
    options: StorePurgeBusOptions,
  ) {
    this.#store = store;
    this.#log = options.log;
    this.#releasePoll = store.requestPollInterval(options.pollIntervalMs);
  }

  async publish(message: PurgeMessage): Promise<void> {
    const { urls, prefixes, streams, all } = message.request;
    await this.#store.publish({
      kind: "purge",
      urls,
      prefixes,
      streams,
      all,
      sourceId: message.sourceId,
      publishedAtMs: message.publishedAtMs ?? Date.now(),
    });
  }

  subscribe(
    handler: (message: PurgeMessage) => void | Promise<void>,
  ): () => void {
    const unsubscribe = this.#store.subscribe((entry: FeedEntry) => {
      const e = entry.event;
      if (e.kind !== "purge") return;
      const message: PurgeMessage = {
        request: {
          urls: e.urls,
          prefixes: e.prefixes,
          streams: e.streams,
          all: e.all,
        },
        sourceId: e.sourceId ?? CONTROL_SOURCE_ID,
        ...(e.publishedAtMs === undefined
          ? {}
          : { publishedAtMs: e.publishedAtMs }),
      };
      Promise.resolve().then(() => handler(message)).catch((err) =>
        this.#log?.error("purge from the shared feed failed", {
          seq: entry.seq,
          from: message.sourceId,
          error: describeError(err),
        })
      );
    });
    this.#unsubscribers.add(unsubscribe);
    return () => {
      this.#unsubscribers.delete(unsubscribe);
      unsubscribe();
    };
  }

  /** Drops every subscription and the poll request (the store stays open). */
  close(): void {
    for (const u of this.#unsubscribers) u();
    this.#unsubscribers.clear();
    this.#releasePoll();
  }
}
