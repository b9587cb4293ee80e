/**
 * The origins control's console acts on (library, kicks, recordings, clips), found in the
 * shared store: every process's node record naming an `origin.http` endpoint, and every
 * origin's stream listing (which names its HTTP URL). Control calls them with the node's admin
 * token, bounded in time; the browser only ever talks to control.
 *
 * @module
 */

import type { SharedStore } from "../store/mod.ts";
import { ControlError, ControlErrorCode } from "./errors.ts";

/** Calls to an origin give up after this long (ms). */
export const ORIGIN_TIMEOUT_MS = 15_000;
/** An upload chunk may take this long to reach the origin (ms). */
export const ORIGIN_UPLOAD_TIMEOUT_MS = 120_000;

/** An origin as control knows it. */
export interface OriginRef {
  /** The origin's id in the stream directory (`host:port`), or its node id. */
  readonly id: string;
  /** `http://host:port`, no trailing slash. */
  readonly httpUrl: string;
}

/** Finds origins in the store and calls them. */
export class OriginDirectory {
  readonly #store: SharedStore;
  readonly #clock: () => number;
  readonly #adminToken: string;

  constructor(store: SharedStore, adminToken: string, clock: () => number) {
    this.#store = store;
    this.#adminToken = adminToken;
    this.#clock = clock;
  }

  /** Every known origin, by HTTP URL, the stream directory's ids first. */
  async list(): Promise<OriginRef[]> {
    const now = this.#clock();
    const [listings, nodes] = await Promise.all([
      this.#store.streams.list(now),
      this.#store.nodes.list(now),
    ]);
    const out = new Map<string, OriginRef>();
    for (const l of listings) {
      out.set(l.httpUrl, { id: l.originId, httpUrl: l.httpUrl });
    }
    for (const n of nodes) {
      const url = n.endpoints["origin.http"];
      if (url && !out.has(url)) out.set(url, { id: n.id, httpUrl: url });
    }
    return [...out.values()];
  }

  /** The origin `id` names, or the first one when `id` is undefined. */
  async pick(id: string | undefined): Promise<OriginRef | undefined> {
    const all = await this.list();
    return id === undefined ? all[0] : all.find((o) => o.id === id);
  }

  /** The origins carrying a live stream (usually one). */
  async forStream(app: string, stream: string): Promise<OriginRef[]> {
    const listings = await this.#store.streams.list(this.#clock());
    return listings.filter((l) =>
      l.streams.some((s) => s.app === app && s.name === stream)
    ).map((l) => ({ id: l.originId, httpUrl: l.httpUrl }));
  }

  /**
   * Calls `path` on an origin with the admin token.
   *
   * @throws {ControlError} `CONTROL_ORIGIN_UNREACHABLE` when it cannot be reached in time.
   */
  async call(
    origin: OriginRef,
    path: string,
    init: RequestInit & { timeoutMs?: number } = {},
  ): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${this.#adminToken}`);
    try {
      return await fetch(`${origin.httpUrl}${path}`, {
        ...init,
        headers,
        signal: AbortSignal.timeout(init.timeoutMs ?? ORIGIN_TIMEOUT_MS),
      });
    } catch (cause) {
      throw new ControlError(
        ControlErrorCode.OriginUnreachable,
        `Cannot reach origin ${origin.id}: ${
          cause instanceof Error ? cause.message : String(cause)
        }`,
        { cause },
      );
    }
  }
}
