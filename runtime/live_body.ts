/**
 * The body of a live response (HTTP-FLV): one writer for the hub, whichever server sends it.
 *
 * Meridian's HTTP/1.1 server writes a {@link liveResponse} itself (one socket write in flight,
 * the rest merged into the next); Deno.serve reads the response's body stream. The hub should
 * not care which, and a viewer must exist from the moment its response does (bytes written
 * before the server takes the body wait here, up to the same cap), so {@link createLiveBody}
 * hands out one {@link LiveOut} that forwards to whichever the server picks.
 *
 * @module
 */

import { liveResponse, type LiveSink } from "./http1_server.ts";

/** Where a viewer's bytes go. */
export interface LiveOut {
  /**
   * Queues bytes (shared with other viewers: never mutated).
   * @returns false when the unsent bytes are over the cap or the body is over: drop the viewer.
   */
  write(bytes: Uint8Array): boolean;
  /** Ends the body: `dropped` aborts it (a slow viewer), otherwise it ends cleanly. */
  end(dropped: boolean, reason: string): void;
}

/** Options of {@link createLiveBody}. */
export interface LiveBodyInit {
  /** Unsent bytes above which {@link LiveOut.write} reports the viewer. */
  readonly maxQueueBytes: number;
  /** How our HTTP/1.1 server frames it (see `LiveSource.framing`). @default "close" */
  readonly framing?: "close" | "chunked";
  readonly headers: HeadersInit;
  /** Runs once when the body is over for any reason the caller did not start itself. */
  gone(): void;
}

/**
 * A live response and the writer that feeds it.
 *
 * @example
 * ```ts
 * import { createLiveBody } from "./live_body.ts";
 * const { response, out } = createLiveBody({ maxQueueBytes: 1 << 20, headers: {}, gone() {} });
 * out.write(new TextEncoder().encode("FLV"));
 * out.end(false, "stream ended");
 * if (await response.text() !== "FLV") throw new Error("lost the early bytes");
 * ```
 */
export function createLiveBody(
  init: LiveBodyInit,
): { response: Response; out: LiveOut } {
  const cap = init.maxQueueBytes;
  let target: LiveOut | undefined;
  let early: Uint8Array[] = [];
  let earlyBytes = 0;
  let ended: { dropped: boolean; reason: string } | undefined;
  let goneOnce = false;
  const gone = () => {
    if (goneOnce) return;
    goneOnce = true;
    init.gone();
  };
  const out: LiveOut = {
    write(bytes) {
      if (ended) return false;
      if (target) return target.write(bytes);
      early.push(bytes);
      earlyBytes += bytes.byteLength;
      return earlyBytes <= cap;
    },
    end(dropped, reason) {
      if (ended) return;
      ended = { dropped, reason };
      // The caller ended it: not reported back through `gone`.
      goneOnce = true;
      target?.end(dropped, reason);
    },
  };
  /** The server took the body: hand over what waited, then write through. */
  const bind = (t: LiveOut) => {
    if (target) return;
    target = t;
    const waiting = early;
    early = [];
    earlyBytes = 0;
    for (const b of waiting) t.write(b);
    if (ended) t.end(ended.dropped, ended.reason);
  };
  // Set when the reader cancels: the controller then refuses bytes, and the hub (told by
  // `gone`) may still write once before it hears.
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        bind({
          write(bytes) {
            if (cancelled) return false;
            // The queue beyond what the reader took: over the cap, the viewer is reported.
            if (-(controller.desiredSize ?? 0) > cap) return false;
            controller.enqueue(bytes);
            return true;
          },
          end(dropped, reason) {
            if (cancelled) return;
            try {
              if (dropped) controller.error(new Error(reason));
              else controller.close();
            } catch {
              // already cancelled by the client
            }
          },
        });
      },
      cancel() {
        cancelled = true;
        gone();
      },
    },
    // A zero high-water mark: nothing is pulled (bound) until a server reads the body.
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
  const response = liveResponse(new Response(body, { headers: init.headers }), {
    maxQueueBytes: cap,
    framing: init.framing ?? "close",
    open: (sink: LiveSink) =>
      bind({
        write: (bytes) => sink.write(bytes),
        end: (dropped) => sink.end(dropped),
      }),
    gone,
  });
  return { response, out };
}
