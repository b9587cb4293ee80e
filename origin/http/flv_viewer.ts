/**
 * HTTP-FLV viewers: a `Viewer` of a hub whose bytes go out as a chunked response body.
 *
 * The viewer joins the hub when its response is made; the body (`net/http1/live.ts`) goes
 * through Meridian's HTTP/1.1 server's live sink (one socket write in flight, the rest merged
 * into the next; each shared buffer framed as a chunk once for all viewers) or through the
 * response's stream on Deno.serve. Either way a viewer whose unsent bytes pass
 * `maxQueueBytes` is reported to the hub on its next write, and the hub drops it.
 *
 * @module
 */

import { createLiveBody } from "../../net/mod.ts";
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
  let over = false;
  /** Once, whatever ends it: the hub, a revocation, the client, the server. */
  const finish = () => {
    if (over) return;
    over = true;
    lifecycle.signal?.removeEventListener("abort", onAbort);
    hub.removeViewer(viewer);
    lifecycle.onClose?.();
  };
  const { response, out } = createLiveBody({
    maxQueueBytes,
    framing: "chunked",
    headers,
    gone: finish,
  });
  const viewer: Viewer = {
    format: "flv",
    id,
    write: (bytes) => !over && out.write(bytes),
    close(reason) {
      if (over) return;
      finish();
      // A live hub dropped us (slow viewer): abort. An ended stream: finish cleanly.
      out.end(hub.live, reason);
    },
  };
  // Revoked: end the body cleanly (an error would only add a stack trace to the log).
  const onAbort = () => {
    finish();
    out.end(false, "token revoked");
  };
  if (lifecycle.signal?.aborted) {
    onAbort();
    return response;
  }
  lifecycle.signal?.addEventListener("abort", onAbort, { once: true });
  hub.addViewer(viewer);
  return response;
}
