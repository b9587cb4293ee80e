/**
 * Purge requests and the bus that spreads them to every edge.
 *
 * `POST /admin/purge` on one edge applies the purge locally and publishes it on a
 * {@link PurgeBus}; every edge subscribed to the bus applies it too. {@link InProcessPurgeBus}
 * connects edges within one process; a store-backed bus (Deno KV `watch`, shared by the
 * control role) implements the same interface for cross-host propagation.
 *
 * @module
 */

import type { PurgeRequest } from "../../cluster/mod.ts";

export type { PurgeRequest };

/** A purge message on the bus: the request plus who sent it. */
export interface PurgeMessage {
  readonly request: PurgeRequest;
  /** Id of the edge that received the admin call (it already applied it). */
  readonly sourceId: string;
  /** When it was published (epoch ms); receivers observe the purge lag from it. */
  readonly publishedAtMs?: number;
}

/** Spreads purges between edges. */
export interface PurgeBus {
  /** Sends a purge to every subscriber (including, on other edges, remote ones). */
  publish(message: PurgeMessage): Promise<void>;
  /** Receives purges; returns the unsubscriber. */
  subscribe(
    handler: (message: PurgeMessage) => void | Promise<void>,
  ): () => void;
}

/**
 * A bus within one process: every subscriber gets every message.
 *
 * @example
 * ```ts
 * import { InProcessPurgeBus } from "./purge.ts";
 * const bus = new InProcessPurgeBus();
 * const seen: string[] = [];
 * bus.subscribe((m) => { seen.push(m.sourceId); });
 * await bus.publish({ sourceId: "e1", request: { urls: [], prefixes: [], streams: [], all: true } });
 * if (seen[0] !== "e1") throw new Error("not delivered");
 * ```
 */
export class InProcessPurgeBus implements PurgeBus {
  readonly #handlers = new Set<(m: PurgeMessage) => void | Promise<void>>();

  async publish(message: PurgeMessage): Promise<void> {
    await Promise.all([...this.#handlers].map((h) => h(message)));
  }

  subscribe(
    handler: (message: PurgeMessage) => void | Promise<void>,
  ): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }
}

/** What a purge acts on (the edge cache and the live fan-out). */
export interface Purgeable {
  purgeUrl(url: URL): Promise<number>;
  purgePrefix(prefix: string): Promise<number>;
  purgeAll(): Promise<number>;
}

/**
 * Applies a purge to one edge's cache.
 * @returns How many objects were removed.
 */
export async function applyPurge(
  target: Purgeable,
  request: PurgeRequest,
): Promise<number> {
  if (request.all) return await target.purgeAll();
  let n = 0;
  for (const u of request.urls) {
    let url: URL;
    try {
      url = new URL(u, "http://edge.invalid");
    } catch {
      continue;
    }
    n += await target.purgeUrl(url);
  }
  for (const p of request.prefixes) n += await target.purgePrefix(p);
  for (const s of request.streams) {
    // A stream's objects: /{app}/{stream}.m3u8 (and its query variants) and /{app}/{stream}/…
    n += await target.purgePrefix(`/${s}.`);
    n += await target.purgePrefix(`/${s}/`);
  }
  return n;
}
