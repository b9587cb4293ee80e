/**
 * HTTP-FLV viewers: a `Viewer` whose bytes go into a response body stream.
 *
 * The queue cap is the stream's high-water mark in bytes: a viewer that does not read lets the
 * queue grow past it, and the next write reports it so that the hub drops it.
 *
 * @module
 */

import type { Hub, Viewer } from "../stream/hub.ts";

/**
 * Creates a streaming HTTP-FLV response attached to `hub`.
 *
 * @param hub The live stream.
 * @param id Viewer id for logs (peer address).
 * @param maxQueueBytes Unsent bytes above which the viewer is dropped.
 */
export function createFlvResponse(
  hub: Hub,
  id: string,
  maxQueueBytes: number,
  headers: HeadersInit,
): Response {
  let viewer: Viewer | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        let open = true;
        viewer = {
          format: "flv",
          id,
          write(bytes) {
            if (!open) return false;
            if ((controller.desiredSize ?? 0) < 0) return false;
            controller.enqueue(bytes);
            return true;
          },
          close(reason) {
            if (!open) return;
            open = false;
            try {
              // A live hub dropped us (slow viewer): abort. An ended stream: finish cleanly.
              if (hub.live) controller.error(new Error(reason));
              else controller.close();
            } catch {
              // Already cancelled by the client.
            }
          },
        };
        hub.addViewer(viewer);
      },
      cancel() {
        if (viewer) hub.removeViewer(viewer);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: maxQueueBytes }),
  );
  return new Response(body, { headers });
}
