/**
 * The edge's part in a cluster sharing one store: it registers itself and heartbeats its load
 * ({@link EdgeRegistrar}), and spreads purges through the store's feed ({@link StorePurgeBus}).
 * `startEdge` wires both when its deps carry a `store`.
 *
 * @module
 */

export {
  deriveEdgeIdentity,
  type EdgeIdentity,
  EdgeRegistrar,
  type EdgeRegistrarDeps,
  machineHostname,
} from "./registrar.ts";
export {
  CONTROL_SOURCE_ID,
  StorePurgeBus,
  type StorePurgeBusOptions,
} from "./store_purge_bus.ts";
