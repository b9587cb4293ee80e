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
 * @param lifecycle `signal` ends the response (token revoked); `onClose` runs once when the
 *   viewer goes, for whatever reason.
 */
export function createFlvResponse(
  hub: Hub,
  id: string,
  maxQueueBytes: number,
  headers: HeadersInit,
  lifecycle: {
    readonly signal?: AbortSignal | undefined;
    readonly onClose?: (() => void) | undefined;
  } = {},
): Response {
  let viewer: Viewer | undefined;
  let closed = false;
  const closedOnce = () => {
    if (closed) return;
    closed = true;
    lifecycle.signal?.removeEventListener("abort", onAbort);
    lifecycle.onClose?.();
  };
  let onAbort = () => {};
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
            closedOnce();
            try {
              // A live hub dropped us (slow viewer): abort. An ended stream: finish cleanly.
              if (hub.live) controller.error(new Error(reason));
              else controller.close();
            } catch {
              // Already cancelled by the client.
            }
          },
        };
        const v = viewer;
        // Revoked: end the body cleanly (an error would only add a stack trace to the log).
        onAbort = () => {
          hub.removeViewer(v);
          if (!open) return;
          open = false;
          closedOnce();
          try {
            controller.close();
          } catch {
            // Already cancelled by the client.
          }
        };
        if (lifecycle.signal?.aborted) return onAbort();
        lifecycle.signal?.addEventListener("abort", onAbort, { once: true });
        hub.addViewer(viewer);
      },
      cancel() {
        if (viewer) hub.removeViewer(viewer);
        closedOnce();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: maxQueueBytes }),
  );
  return new Response(body, { headers });
}
