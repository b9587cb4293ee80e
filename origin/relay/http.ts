/**
 * The relay's routes on the origin's HTTP port:
 *
 * - `GET /api/relay/streams?relayVia=…`: the streams this node can serve downstream relays
 *   ({@link RelayStreamListing}); with `origin.relay.secret` set, only with the secret in
 *   {@link RELAY_SECRET_HEADER} (403 otherwise).
 * - `GET /admin/relay`: pulls and pushes with their state (bearer admin token, the one admin
 *   gate of Meridian, as `/admin/channels`).
 *
 * @module
 */

import { Hono } from "hono";
import { constantTimeEqual } from "../../access/mod.ts";
import { createAdminGate } from "../../net/mod.ts";
import type { Logger } from "../log.ts";
import type { RelayPushSummary } from "./forward.ts";
import type { RelayPullSummary } from "./pull.ts";
import type { RelayStreamListing } from "./stream_list.ts";
import { RELAY_LIST_PATH } from "./stream_list.ts";
import {
  MAX_RELAY_CHAIN,
  RELAY_NODE_ID_RE,
  RELAY_SECRET_HEADER,
  RELAY_VIA_PARAM,
} from "./wire.ts";

const NO_STORE = { "Cache-Control": "no-store" };

/** What the routes read. */
export interface RelayRoutesSource {
  readonly nodeId: string;
  readonly secret: string;
  readonly upstreams: readonly { readonly url: string }[];
  listing(exclude: ReadonlySet<string>): Promise<RelayStreamListing>;
  pulls(): RelayPullSummary[];
  pushes(): RelayPushSummary[];
}

/** Options of {@link createRelayRoutes}. */
export interface RelayRoutesOptions {
  /** Bearer token of `/admin/relay`; "" turns it off (403). */
  readonly adminToken: string;
  readonly log: Logger;
}

/**
 * Creates the relay's routes.
 *
 * @example
 * ```ts
 * import { createRelayRoutes } from "./http.ts";
 * import { silentLogger } from "../log.ts";
 * const app = createRelayRoutes({
 *   nodeId: "a", secret: "", upstreams: [],
 *   listing: () => Promise.resolve({ nodeId: "a", streams: [] }),
 *   pulls: () => [], pushes: () => [],
 * }, { adminToken: "", log: silentLogger });
 * const res = await app.request("/api/relay/streams");
 * if (res.status !== 200) throw new Error(`got ${res.status}`);
 * ```
 */
export function createRelayRoutes(
  relay: RelayRoutesSource,
  options: RelayRoutesOptions,
): Hono {
  const app = new Hono();
  app.get(RELAY_LIST_PATH, async (c) => {
    if (
      relay.secret !== "" &&
      !constantTimeEqual(c.req.header(RELAY_SECRET_HEADER) ?? "", relay.secret)
    ) {
      return c.text(
        "Relay secret required: this origin lists its streams to relay nodes with origin.relay.secret only",
        403,
        NO_STORE,
      );
    }
    const exclude = new Set(
      (c.req.query(RELAY_VIA_PARAM) ?? "").split(",").filter((id) =>
        RELAY_NODE_ID_RE.test(id)
      ).slice(0, MAX_RELAY_CHAIN),
    );
    return c.json(await relay.listing(exclude), 200, NO_STORE);
  });
  app.use(
    "/admin/relay",
    createAdminGate(options.adminToken, { log: options.log }),
  );
  app.get("/admin/relay", (c) =>
    c.json(
      {
        nodeId: relay.nodeId,
        upstreams: relay.upstreams.map((u) => u.url),
        pulls: relay.pulls(),
        pushes: relay.pushes(),
      },
      200,
      NO_STORE,
    ));
  return app;
}
