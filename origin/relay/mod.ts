/**
 * Origin-to-origin relaying (`origin.relay`): cascades of any depth, each node serving viewers
 * while it relays.
 *
 * - **Pulls on demand** from `upstreams` in fail-over order (`relay.ts`, `pull.ts`) over RTMP
 *   or HTTP-FLV, started by the first request of any output and stopped `idleCloseMs` after
 *   the last; the pulled stream is an ordinary hub (HLS and every output), so this node is an
 *   upstream for further nodes in turn.
 * - **Static pushes** (`forward.ts`) of chosen streams to other origins or platforms.
 * - **Stream-list sync** (`stream_list.ts`): a stream no upstream has is a 404 at once.
 * - **Secret, hop count, loops** (`wire.ts`): pulls carry their chain of node ids; the
 *   secret gates relay requests; a loop or a pull past `maxDepth` is refused, saying so.
 *
 * @module
 */

import type { Hono } from "hono";
import type { OriginRelayConfig } from "../../config/mod.ts";
import { RelayForwarder } from "./forward.ts";
import { createRelayRoutes } from "./http.ts";
import { Relay, type RelayDeps } from "./relay.ts";

export { RelayError, RelayErrorCode } from "./errors.ts";
export {
  forwards,
  parseForwardRules,
  PUSH_BACKOFF_MAX_MS,
  PUSH_BACKOFF_MIN_MS,
  RelayForwarder,
  type RelayPushSummary,
} from "./forward.ts";
export { createRelayRoutes } from "./http.ts";
export { openFlvPull } from "./pull_flv.ts";
export { openRtmpPull } from "./pull_rtmp.ts";
export { failureOf, RelayPull, type RelayPullSummary } from "./pull.ts";
export { createOpenPull, openPull, Relay, type RelayDeps } from "./relay.ts";
export {
  parseListing,
  RELAY_LIST_PATH,
  type RelayStreamListing,
  UpstreamStreamList,
} from "./stream_list.ts";
export {
  type OpenPull,
  parseUpstreams,
  type PullConnection,
  type Upstream,
} from "./upstream.ts";
export {
  admitPush,
  admitRelay,
  extendChain,
  LOOP_STATUS,
  parseRelayChain,
  type RawRelayMark,
  refusalStatus,
  RELAY_HOPS_PARAM,
  RELAY_SECRET_HEADER,
  RELAY_VIA_PARAM,
  type RelayAdmission,
  type RelayChain,
} from "./wire.ts";

/** The running relay of one origin. */
export interface RelayHandle {
  readonly relay: Relay;
  readonly forwarder: RelayForwarder;
  /** `/api/relay/streams` and `/admin/relay`, mounted on the origin's HTTP app. */
  readonly routes: Hono;
  close(): Promise<void>;
}

/**
 * Creates the relay of an origin (always: a node without upstreams is still an upstream for
 * others) and makes it the registry's demand source. Call {@link RelayHandle.relay}'s
 * `start()` and the forwarder's once the listeners are up.
 */
export function createRelay(
  config: OriginRelayConfig,
  deps: RelayDeps & { readonly adminToken: string },
): RelayHandle {
  const relay = new Relay(config, deps);
  const forwarder = new RelayForwarder(config.forward, {
    registry: deps.registry,
    log: deps.log.child("forward"),
    metrics: deps.metrics,
    nodeId: relay.nodeId,
    ...(deps.caCerts ? { caCerts: deps.caCerts } : {}),
  });
  deps.registry.setDemandSource(relay);
  const routes = createRelayRoutes({
    nodeId: relay.nodeId,
    secret: config.secret,
    upstreams: relay.upstreams,
    listing: (exclude) => relay.listing(exclude),
    pulls: () => relay.pulls(),
    pushes: () => forwarder.pushes(),
  }, { adminToken: deps.adminToken, log: deps.log.child("admin") });
  return {
    relay,
    forwarder,
    routes,
    async close() {
      deps.registry.setDemandSource(undefined);
      await forwarder.close();
      await relay.close();
    },
  };
}
