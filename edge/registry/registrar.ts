/**
 * The edge's side of the shared edge registry: register at start, heartbeat the load summary
 * every `edge.registry.heartbeatSeconds`, deregister on a clean shutdown. An edge that dies
 * without deregistering drops out once its heartbeats are missed (`store/freshness.ts`).
 *
 * @module
 */

import type { EdgeConfig } from "../../config/edge_schema.ts";
import { describeError, type Logger } from "../../log/mod.ts";
import {
  boundEdgeStreams,
  type EdgeLoad,
  type EdgeRecord,
  type EdgeRegistry,
  streamKeyOfPath,
} from "../../store/mod.ts";

/** An edge's registry fields that do not change while it runs. */
export type EdgeIdentity = Omit<
  EdgeRecord,
  "load" | "registeredAtMs" | "updatedAtMs"
>;

/** Longest registry id (as the scheduler's config ids). */
const MAX_ID_LENGTH = 64;
const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** True for an address a listener binds to that is not one concrete address. */
function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "[::]" || host === "";
}

/**
 * Derives what the edge registers from its config and the bound port: an empty id becomes
 * `{machine hostname}-{port}`, empty public addresses come from a concrete bind address, an
 * empty base URL is built from the bind address (or the public one when binding a wildcard).
 *
 * @param registry The `edge.registry` section.
 * @param bind The listener's configured hostname and bound port.
 * @param machineHostname The machine's name, for the default id.
 *
 * @example
 * ```ts
 * import { EDGE_DEFAULTS } from "../../config/edge_schema.ts";
 * import { deriveEdgeIdentity } from "./registrar.ts";
 * const id = deriveEdgeIdentity(EDGE_DEFAULTS.registry, { hostname: "127.0.0.1", port: 8080 }, "web 1");
 * if (id.id !== "web-1-8080" || id.address !== "127.0.0.1") throw new Error(id.id);
 * if (id.baseUrl !== "http://127.0.0.1:8080") throw new Error(id.baseUrl);
 * ```
 */
export function deriveEdgeIdentity(
  registry: EdgeConfig["registry"],
  bind: { readonly hostname: string; readonly port: number },
  machineHostname: string,
): EdgeIdentity {
  const bindHost = bind.hostname === "localhost" ? "127.0.0.1" : bind.hostname;
  const id = registry.id ||
    `${machineHostname}-${bind.port}`.replace(/[^A-Za-z0-9_.-]+/g, "-")
      .slice(-MAX_ID_LENGTH);
  const address = registry.publicAddress ||
    (IPV4_RE.test(bindHost) && !isWildcard(bindHost) ? bindHost : "");
  const bare6 = bindHost.replace(/^\[|\]$/g, "");
  const address6 = registry.publicAddress6 ||
    (bare6.includes(":") && !isWildcard(bare6) ? bare6 : "");
  let host = bindHost;
  if (isWildcard(bindHost)) host = address || address6 || machineHostname;
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return {
    id,
    region: registry.region,
    latitude: registry.latitude,
    longitude: registry.longitude,
    address,
    address6,
    baseUrl: registry.baseUrl || `http://${host}:${bind.port}`,
    capacityBps: registry.capacityBps,
    capacityViewers: registry.capacityViewers,
    heartbeatSeconds: registry.heartbeatSeconds,
  };
}

/** The machine's hostname, or `fallback` without `--allow-sys`. */
export function machineHostname(fallback: string): string {
  try {
    return Deno.hostname();
  } catch {
    return fallback;
  }
}

/** Dependencies of {@link EdgeRegistrar}. */
export interface EdgeRegistrarDeps {
  readonly registry: EdgeRegistry;
  /** The current load summary (what `/healthz` shows). */
  readonly load: () => EdgeLoad;
  /**
   * The live streams the edge serves now (its FLV sessions: path and viewers), reported as
   * hashed keys, the busiest `MAX_EDGE_STREAMS` (`store/stream_key.ts`). @default none
   */
  readonly streams?: () => Iterable<{
    readonly path: string;
    readonly viewers: number;
  }>;
  readonly log: Logger;
  /** Unix ms. @default Date.now */
  readonly clock?: () => number;
}

/**
 * Keeps one edge registered: {@link start} registers, then heartbeats until {@link close}.
 *
 * @example
 * ```ts ignore
 * const r = new EdgeRegistrar(identity, { registry: store.edges, load, log });
 * await r.start();
 * await r.close(); // deregisters
 * ```
 */
export class EdgeRegistrar {
  readonly identity: EdgeIdentity;
  readonly #d: EdgeRegistrarDeps;
  readonly #clock: () => number;
  #registeredAtMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #beat: Promise<void> | undefined;
  #closed = false;
  #failing = false;

  constructor(identity: EdgeIdentity, deps: EdgeRegistrarDeps) {
    this.identity = identity;
    this.#d = deps;
    this.#clock = deps.clock ?? Date.now;
  }

  #record(): EdgeRecord {
    const load = this.#d.load();
    const streams = this.#streams();
    return {
      ...this.identity,
      registeredAtMs: this.#registeredAtMs,
      updatedAtMs: this.#clock(),
      load: streams.length ? { ...load, streams } : load,
    };
  }

  /** The stream list of the next heartbeat: keyed, merged per stream and bounded. */
  #streams(): EdgeLoad["streams"] & unknown[] {
    if (!this.#d.streams) return [];
    const out: { key: string; viewers: number }[] = [];
    for (const s of this.#d.streams()) {
      const key = streamKeyOfPath(s.path);
      if (key) out.push({ key, viewers: s.viewers });
    }
    return boundEdgeStreams(out);
  }

  /**
   * Registers the edge and starts heartbeating.
   * @throws {StoreError} When the first registration cannot be written.
   */
  async start(): Promise<void> {
    this.#registeredAtMs = this.#clock();
    await this.#d.registry.register(this.#record());
    this.#d.log.info("registered in the edge registry", {
      id: this.identity.id,
      address: this.identity.address,
      address6: this.identity.address6,
      baseUrl: this.identity.baseUrl,
    });
    if (!this.identity.address && !this.identity.address6) {
      this.#d.log.warn(
        "registered without a public address: DNS cannot answer this edge; set edge.registry.publicAddress",
        { id: this.identity.id },
      );
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#beat = this.heartbeat().finally(() => {
        this.#beat = undefined;
        this.#schedule();
      });
    }, this.identity.heartbeatSeconds * 1000);
  }

  /** Writes one heartbeat now; failures are logged (the next beat retries). */
  async heartbeat(): Promise<void> {
    try {
      await this.#d.registry.heartbeat(this.#record());
      if (this.#failing) {
        this.#failing = false;
        this.#d.log.info("edge registry heartbeat recovered", {
          id: this.identity.id,
        });
      }
    } catch (err) {
      if (this.#closed) return;
      if (!this.#failing) {
        this.#failing = true;
        this.#d.log.warn("edge registry heartbeat failed", {
          id: this.identity.id,
          error: describeError(err),
        });
      }
    }
  }

  /** Stops heartbeating and deregisters (failures are logged: expiry removes the edge anyway). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#beat;
    try {
      await this.#d.registry.deregister(this.identity.id);
    } catch (err) {
      this.#d.log.warn("cannot deregister from the edge registry", {
        id: this.identity.id,
        error: describeError(err),
      });
    }
  }
}
