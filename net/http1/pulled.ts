/**
 * Bodies this server pulls buffer by buffer, writing each to the socket before asking for the
 * next, so the source may hand out the same buffer every time (a file read into one buffer).
 *
 * Why: a `ReadableStream` body costs a new buffer, a promise chain and a queue per chunk, and
 * its reader cannot tell the source when a chunk has been written; a progressive or ranged
 * file body is then several allocations and op round trips per 64 KiB. The response keeps its
 * own stream for other servers (Deno.serve), which this one never reads.
 *
 * @module
 */

/** The source of a pulled body. */
export interface PulledBody {
  /** The next bytes, or null at the end; the buffer is the caller's until the next call. */
  read(): Promise<Uint8Array | null>;
  /** Ends the body early (the peer left, the response was refused); idempotent. */
  cancel(): void;
}

const pulledBodies = new WeakMap<Response, PulledBody>();

/**
 * Gives `response` a body this server pulls from `body` instead of reading its stream. The
 * response must state its `Content-Length`, and its own stream must be lazy (pull-driven
 * with a zero high-water mark) since this server cancels it unread.
 *
 * @returns `response`.
 */
export function pulledResponse(
  response: Response,
  body: PulledBody,
): Response {
  pulledBodies.set(response, body);
  return response;
}

/** The body {@link pulledResponse} gave `response`, if any. */
export function pulledBodyOf(response: Response): PulledBody | undefined {
  return pulledBodies.get(response);
}
