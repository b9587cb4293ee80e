/**
 * Playing a live stream over a non-RTMP output (RTSP, SRT): the stream must be live (checked
 * before access control, so no token use is spent on a miss), then access, then a hub viewer
 * whose bytes are read back as FLV tags for the output to remux (RTP, MPEG-TS). The hub's
 * fan-out gives it what every viewer gets: sequence headers, the cached GOP, live tags, and a
 * drop when it falls behind.
 *
 * @module
 */

import { encodeFlvHeader } from "../../codec/flv/header.ts";
import { FlvReader } from "../../codec/flv/reader.ts";
import type { FlvTag } from "../../codec/flv/types.ts";
import type { Hub, Viewer } from "../stream/hub.ts";
import {
  authorizeIngest,
  type IngestAccessRequest,
  type IngestRefusal,
} from "./access.ts";
import type { IngestContext } from "./publish.ts";

/** Where a player's tags go. */
export interface IngestPlaySink {
  /** Tags in order; false when the output's queue is over its cap (the viewer is dropped). */
  onTags(tags: readonly FlvTag[]): boolean;
  /** The stream ended (`dropped` false) or the viewer was too slow (`dropped` true). */
  onEnd(reason: string, dropped: boolean): void;
}

/** A play that started; `stop()` when the client leaves. */
export interface IngestPlay {
  readonly hub: Hub;
  stop(): void;
}

/**
 * Opens a play of `app/stream` over `request.protocol`.
 *
 * @example
 * ```ts ignore
 * const p = await startIngestPlay(ctx, request, { onTags: (t) => send(t), onEnd: () => close() });
 * ```
 */
export async function startIngestPlay(
  ctx: IngestContext,
  request: Omit<IngestAccessRequest, "action">,
  sink: IngestPlaySink,
  onRevoke: () => void,
): Promise<
  { readonly allowed: true; readonly play: IngestPlay } | IngestRefusal
> {
  const refused = (r: IngestRefusal): IngestRefusal => {
    ctx.metrics.refused(request.protocol, "play", r.reason);
    return r;
  };
  const notFound = (): IngestRefusal =>
    refused({
      allowed: false,
      reason: "not_found",
      status: 404,
      description: `Stream not found: ${request.app}/${request.stream}`,
    });
  const live = ctx.registry.get(request.app, request.stream);
  if (!live?.live) {
    // A bad name is refused as such, not as "not found".
    const d = await authorizeIngest(undefined, { ...request, action: "play" });
    return d.allowed ? notFound() : refused(d);
  }
  const decision = await authorizeIngest(ctx.access, {
    ...request,
    action: "play",
  });
  if (!decision.allowed) return refused(decision);
  const hub = ctx.registry.get(request.app, request.stream);
  if (!hub?.live) {
    decision.session.end();
    return notFound();
  }
  const reader = new FlvReader();
  reader.push(encodeFlvHeader({ hasAudio: true, hasVideo: true }));
  let stopped = false;
  const session = decision.session;
  const viewer: Viewer = {
    format: request.protocol,
    id: request.peer,
    write(bytes) {
      if (stopped) return false;
      reader.push(bytes);
      return sink.onTags(reader.pullAll());
    },
    close(reason, dropped) {
      if (stopped) return;
      stopped = true;
      session.end();
      sink.onEnd(reason, dropped);
    },
  };
  session.watch(onRevoke);
  ctx.metrics.started(request.protocol, "play");
  hub.addViewer(viewer);
  return {
    allowed: true,
    play: {
      hub,
      stop() {
        if (stopped) return;
        stopped = true;
        hub.removeViewer(viewer);
        session.end();
      },
    },
  };
}
