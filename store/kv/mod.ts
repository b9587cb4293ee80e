/**
 * The Deno KV backend of the shared store: a local SQLite file shared by the processes of one
 * machine (zero set-up, the default), or a KV Connect URL shared by many machines.
 *
 * @module
 */

export {
  DEFAULT_POLL_INTERVAL_MS,
  KvStore,
  type KvStoreOptions,
} from "./store.ts";
