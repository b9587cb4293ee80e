/**
 * State shared between nodes: access tokens, revocations, the edge registry (`store.edges`), the
 * stream directory (`store.streams`, each origin's live streams), the node directory
 * (`store.nodes`, every process with its roles and load), VOD resume positions
 * (`store.resume`) and a change feed every node sees.
 *
 * Everything goes through the typed {@link SharedStore} repository (`types.ts`), never raw
 * backend calls; each backend lives in its own folder and passes the same contract suite
 * (`tests/store/contract.ts`): Deno KV (`kv/`, {@link KvStore}, the default: a local file for
 * the processes of one machine, a KV Connect URL for many) and Redis (`redis/`, loaded only
 * when `store.url` names it). `url.ts` says which from `store.url`. The rules readers apply to
 * stored records are in `freshness.ts`; role logic built on the store lives in its role
 * (the origin's stream announcer, the scheduler's health-view vote).
 *
 * @example
 * ```ts
 * import { openStore } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openStore({ url: "", path: "" }, dir);
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { MeridianConfig } from "../config/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import type { Logger } from "../log/mod.ts";
import { KvStore } from "./kv/mod.ts";
import type { SharedStore } from "./types.ts";
import { resolveStoreLocation } from "./url.ts";

export { StoreError, StoreErrorCode } from "./errors.ts";
export {
  DEFAULT_KV_FILE,
  parseStoreUrl,
  redactStoreUrl,
  resolveStoreLocation,
  type StoreLocation,
} from "./url.ts";
export {
  combineHealthViews,
  EXPIRY_HEARTBEATS,
  isEdgeFresh,
  isListingFresh,
  isViewFresh,
} from "./freshness.ts";
export {
  boundEdgeStreams,
  type EdgeStreamLoad,
  MAX_EDGE_STREAMS,
  MAX_STREAM_VIEWERS,
  streamKey,
  streamKeyOfPath,
} from "./stream_key.ts";
export {
  DEFAULT_POLL_INTERVAL_MS,
  KvStore,
  type KvStoreOptions,
} from "./kv/mod.ts";
export {
  type DirectoryStream,
  type EdgeLoad,
  type EdgeRecord,
  type EdgeRegistry,
  type FeedEntry,
  type FeedEvent,
  type HealthView,
  MAX_HEALTH_ERROR_CHARS,
  MAX_LISTING_STREAM_BYTES,
  MAX_NODE_RECORD_BYTES,
  MAX_RESUME_VIDEO_CHARS,
  MAX_RESUME_VIEWER_CHARS,
  type NodeDirectory,
  type NodeRecord,
  type OriginListing,
  type RegistrySnapshot,
  RESUME_TTL_MS,
  type ResumePosition,
  type ResumePositions,
  type SharedStore,
  type SpendRefusal,
  type SpendResult,
  type StoreHealth,
  type StreamDirectory,
  type TokenRecord,
  type TokenState,
} from "./types.ts";

/**
 * Exposes a store's reachability in `/metrics`: `meridian_store_up` (1 reachable, 0 not) and
 * `meridian_store_outages_total`, labelled by backend, computed at scrape time.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "../metrics/mod.ts";
 * import { registerStoreMetrics } from "./mod.ts";
 * const m = new MetricsRegistry();
 * registerStoreMetrics(m, { health: () => ({ backend: "kv", location: "", up: false, sinceMs: 0, outages: 2, lastError: "" }) });
 * if (!m.render().includes('meridian_store_up{backend="kv"} 0')) throw new Error(m.render());
 * ```
 */
export function registerStoreMetrics(
  metrics: MetricsRegistry,
  store: Pick<SharedStore, "health">,
): void {
  metrics.collect(
    "meridian_store_up",
    "1 while the shared store's backend is reachable, 0 while nodes serve from memory",
    "gauge",
    () => {
      const h = store.health();
      return [[{ backend: h.backend }, h.up ? 1 : 0]];
    },
  );
  metrics.collect(
    "meridian_store_outages_total",
    "Times the shared store's backend became unreachable",
    "counter",
    () => {
      const h = store.health();
      return [[{ backend: h.backend }, h.outages]];
    },
  );
}

/** The `store` config section. */
export type StoreConfig = MeridianConfig["store"];

/** Options of {@link openStore}: what every backend takes. */
export interface OpenStoreOptions {
  /** Where outages and feed failures are reported. @default silent */
  readonly log?: Logger;
  /** When given, `meridian_store_up` and `meridian_store_outages_total` are registered. */
  readonly metrics?: MetricsRegistry;
  /** KV only: feed poll interval (ms). @default 200 */
  readonly pollIntervalMs?: number;
}

/**
 * Opens the shared store its config section names (`store.url`, else `store.path`, else the
 * KV file `${dataDir}/meridian.kv`), creating a KV file's directory when needed. The Redis
 * backend (and its client library) is loaded only when the URL names Redis.
 *
 * @throws {StoreError} `STORE_BAD_URL` for a malformed URL, `STORE_OPEN_FAILED` when the
 *   backend cannot be reached; messages never hold a password.
 */
export async function openStore(
  config: Pick<StoreConfig, "path"> & Partial<Pick<StoreConfig, "url">>,
  dataDir: string,
  options: OpenStoreOptions = {},
): Promise<SharedStore> {
  const location = resolveStoreLocation(config, dataDir);
  let store: SharedStore;
  if (location.backend === "redis") {
    const { openRedisStore } = await import("./redis/mod.ts");
    store = await openRedisStore(config.url ?? "", {
      ...(options.log ? { log: options.log } : {}),
    });
  } else {
    const path = location.path;
    if (!/^https?:\/\//i.test(path)) {
      const slash = path.lastIndexOf("/");
      if (slash > 0) {
        await Deno.mkdir(path.slice(0, slash), { recursive: true });
      }
    }
    store = await KvStore.open(path, {
      ...(options.log ? { log: options.log } : {}),
      ...(options.pollIntervalMs
        ? { pollIntervalMs: options.pollIntervalMs }
        : {}),
    });
  }
  if (options.metrics) registerStoreMetrics(options.metrics, store);
  return store;
}
