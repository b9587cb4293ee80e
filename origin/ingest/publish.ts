/**
 * Starting a publish from a non-RTMP ingest (SRT, RTSP, a pulled source): the stream limit,
 * access control, then a hub in the registry, the same steps and refusals as RTMP's publish
 * (`origin.maxStreams` first so a full origin spends no hook call, again after the decision).
 *
 * @module
 */

import type { AccessGate } from "../auth/gate.ts";
import type { Logger } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import { StreamBusyError, type StreamRegistry } from "../stream/registry.ts";
import {
  authorizeIngest,
  type IngestAccessRequest,
  type IngestAccessSession,
  type IngestRefusal,
} from "./access.ts";
import type { IngestMetrics } from "./metrics.ts";

/** What an ingest server shares with its connections. */
export interface IngestContext {
  readonly registry: StreamRegistry;
  /** Access control; without it every well-named request is allowed. */
  readonly access: AccessGate | undefined;
  /** `origin.maxStreams`. */
  readonly maxStreams: number;
  readonly metrics: IngestMetrics;
  readonly log: Logger;
}

/** A publish that started: push tags into `hub`, call `end()` when the publisher leaves. */
export interface IngestPublish {
  readonly hub: Hub;
  /** Ends the stream and the access session (on_unpublish); idempotent. */
  end(): void;
}

function refusedAtLimit(max: number): IngestRefusal {
  return {
    allowed: false,
    reason: "max_streams",
    status: 503,
    description:
      `Cannot publish: the origin has its maximum of ${max} live streams`,
  };
}

/**
 * Opens a publish: checks, then a hub. `onKick` closes the publisher's connection when an
 * operator kicks the stream. Every refusal is counted and logged once by the caller.
 *
 * @example
 * ```ts ignore
 * const p = await startIngestPublish(ctx, request, () => conn.close());
 * if (!p.allowed) return refuse(p.status, p.description);
 * p.publish.hub.pushTag(tag);
 * ```
 */
export async function startIngestPublish(
  ctx: IngestContext,
  request: Omit<IngestAccessRequest, "action">,
  onKick: () => void,
): Promise<
  { readonly allowed: true; readonly publish: IngestPublish } | IngestRefusal
> {
  const refused = (r: IngestRefusal): IngestRefusal => {
    ctx.metrics.refused(request.protocol, "publish", r.reason);
    return r;
  };
  if (ctx.registry.size >= ctx.maxStreams) {
    return refused(refusedAtLimit(ctx.maxStreams));
  }
  const decision = await authorizeIngest(ctx.access, {
    ...request,
    action: "publish",
  });
  if (!decision.allowed) return refused(decision);
  const session: IngestAccessSession = decision.session;
  if (ctx.registry.size >= ctx.maxStreams) {
    session.end();
    return refused(refusedAtLimit(ctx.maxStreams));
  }
  let hub: Hub;
  try {
    hub = ctx.registry.startPublish(request.app, request.stream, {
      peer: request.peer,
      protocol: request.protocol,
    });
  } catch (err) {
    session.end();
    if (err instanceof StreamBusyError) {
      return refused({
        allowed: false,
        reason: "busy",
        status: 409,
        description:
          `Cannot publish: stream '${request.app}/${request.stream}' is already live`,
      });
    }
    throw err;
  }
  hub.onKick(onKick);
  ctx.metrics.started(request.protocol, "publish");
  let ended = false;
  return {
    allowed: true,
    publish: {
      hub,
      end() {
        if (ended) return;
        ended = true;
        hub.end();
        session.end();
      },
    },
  };
}
