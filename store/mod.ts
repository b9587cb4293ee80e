/**
 * State shared between nodes: access tokens, revocations, the edge registry (`store.edges`), the
 * stream directory (`store.streams`, each origin's live streams) and a change feed every node
 * sees.
 *
 * Everything goes through the typed {@link SharedStore} repository (`types.ts`), never raw
 * backend calls; each backend lives in its own folder and passes the same contract suite
 * (`tests/store/contract.ts`). Today's backend is Deno KV (`kv/`, {@link KvStore}): a local
 * file for the processes of one machine, a KV Connect URL for many. The rules readers apply to
 * stored records are in `freshness.ts`; role logic built on the store lives in its role
 * (the origin's stream announcer, the scheduler's health-view vote).
 *
 * @example
 * ```ts
 * import { openStore } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openStore({ path: "" }, dir);
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { MeridianConfig } from "../config/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import { KvStore, type KvStoreOptions } from "./kv/mod.ts";
import type { SharedStore } from "./types.ts";

export { StoreError, StoreErrorCode } from "./errors.ts";
export {
  EXPIRY_HEARTBEATS,
  isEdgeFresh,
  isListingFresh,
  isViewFresh,
} from "./freshness.ts";
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
  type OriginListing,
  type RegistrySnapshot,
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

/** File name of the KV database inside the data directory. */
export const DEFAULT_KV_FILE = "meridian.kv";

/**
 * Where the store lives: the configured path or URL, else `${dataDir}/meridian.kv`.
 *
 * @example
 * ```ts
 * import { resolveStorePath } from "./mod.ts";
 * if (resolveStorePath({ path: "" }, "./data") !== "./data/meridian.kv") throw new Error();
 * ```
 */
export function resolveStorePath(config: StoreConfig, dataDir: string): string {
  return config.path === "" ? `${dataDir}/${DEFAULT_KV_FILE}` : config.path;
}

/** True for a KV Connect URL (remote database) rather than a file path. */
export function isRemoteStorePath(path: string): boolean {
  return /^https?:\/\//i.test(path);
}

/**
 * Opens the shared store from its config section, creating the file's directory when needed.
 *
 * @throws {StoreError} `STORE_OPEN_FAILED` naming the path.
 */
export async function openStore(
  config: StoreConfig,
  dataDir: string,
  options: KvStoreOptions = {},
): Promise<SharedStore> {
  const path = resolveStorePath(config, dataDir);
  if (!isRemoteStorePath(path)) {
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  }
  return await KvStore.open(path, options);
}
