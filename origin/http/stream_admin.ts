/**
 * The origin's live-stream admin route (behind the node's admin token):
 *
 * - `DELETE /admin/streams/{app}/{stream}` — kick the publisher: its connection is closed and
 *   the stream ends for every viewer (204; 404 when not live; 409 for a stream no connection
 *   publishes, such as a virtual-live channel, which its playlist controls).
 *
 * Control's console calls it through control's `POST /admin/streams/{app}/{stream}/kick`.
 *
 * @module
 */

import { Hono } from "hono";
import { createAdminGate } from "../../net/mod.ts";
import type { Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import { isSafeName } from "./app.ts";

/** What the route needs. */
export interface StreamAdminDeps {
  readonly registry: StreamRegistry;
  /** Bearer token; "" turns the route off (403). */
  readonly adminToken: string;
  readonly log: Logger;
}

/** Creates the route (absolute paths: mount with `app.route("/", …)`). */
export function createStreamAdminRoutes(deps: StreamAdminDeps): Hono {
  const app = new Hono();
  const gate = createAdminGate(deps.adminToken, { log: deps.log });
  app.delete("/admin/streams/:app/:stream", gate, (c) => {
    const { app: appName, stream } = c.req.param();
    const headers = { "Cache-Control": "no-store" };
    if (!isSafeName(appName) || !isSafeName(stream)) {
      return c.json({ error: "Invalid stream name" }, 400, headers);
    }
    const hub = deps.registry.get(appName, stream);
    if (!hub || !hub.live) {
      return c.json(
        { error: `Stream not live: ${appName}/${stream}` },
        404,
        headers,
      );
    }
    if (!hub.kickable) {
      return c.json(
        {
          error:
            `Cannot kick ${appName}/${stream}: no connection publishes it (${hub.publisher.protocol})`,
        },
        409,
        headers,
      );
    }
    hub.kick();
    deps.log.info("publisher kicked", {
      stream: `${appName}/${stream}`,
      peer: hub.publisher.peer,
    });
    return c.body(null, 204, headers);
  });
  return app;
}
