/**
 * Live bodies on the HTTP/1.1 server: responses framed by closing the connection
 * ({@link closeDelimited}), bodies the server writes straight from a source with no stream
 * machinery per write ({@link liveResponse}, {@link LiveSource}), chunk framing done once per
 * shared buffer, and {@link createLiveBody}: one writer for the hub whichever server sends the
 * body.
 *
 * This is the hot path of HTTP-FLV: one write per flush interval for each of thousands of
 * viewers, the same buffers for all of them. So a viewer's write is a queue push or one socket
 * write, never a stream read (several promises and resumptions each), and a chunk's framing is
 * built once per buffer, not once per viewer.
 *
 * @module
 */

import { ByteQueue, MERGE_MAX_BYTES } from "../../codec/bytes/queue.ts";
import { encodeResponseHead } from "../../codec/http1/mod.ts";
import type { Http1Conn } from "./_conn.ts";

const closeDelimitedResponses = new WeakSet<Response>();

/**
 * Marks `response` as a stream of unknown length framed by closing the connection (RFC 9112
 * §6.3 rule 8) rather than chunked: every chunk goes to the socket as it is, the same bytes
 * for every viewer, with no per-chunk framing copy. For live streams, which end only when the
 * connection does; other bodies of unknown length stay chunked so a cut is visible.
 *
 * @returns `response`.
 *
 * @example
 * ```ts
 * import { closeDelimited } from "./live.ts";
 * const res = closeDelimited(new Response(new ReadableStream()));
 * await res.body?.cancel();
 * ```
 */
export function closeDelimited(response: Response): Response {
  closeDelimitedResponses.add(response);
  return response;
}

/** Whether {@link closeDelimited} (or {@link liveResponse}) marked `response`. */
export function isCloseDelimited(response: Response): boolean {
  return closeDelimitedResponses.has(response);
}

/**
 * Where a {@link LiveSource} writes: bytes go to the socket in order with at most one write in
 * flight; whatever arrives meanwhile is queued and sent as one write when it completes.
 */
export interface LiveSink {
  /**
   * Queues bytes for the socket (shared with other viewers: never mutated).
   * @returns false when the unsent bytes are over the source's cap (or the response is over):
   *   the source drops this viewer.
   */
  write(bytes: Uint8Array): boolean;
  /** Ends the response: after the queued bytes, or at once when `abort`. */
  end(abort?: boolean): void;
}

/** A live body the HTTP/1.1 server writes itself, with no stream machinery per write. */
export interface LiveSource {
  /** Unsent bytes a viewer may have before {@link LiveSink.write} reports it. */
  readonly maxQueueBytes: number;
  /**
   * `close` (default): the body ends with the connection, each buffer written as it is.
   * `chunked`: each buffer is sent as one chunk, framed once per buffer however many viewers
   * write it; a clean end sends the last chunk and the connection stays open (HTTP/1.0
   * peers still get close framing).
   */
  readonly framing?: "close" | "chunked";
  /** Called once the head is out; the source writes into `sink` from then on. */
  open(sink: LiveSink): void;
  /** Called once when the response is over: ended, cut, or the peer went. */
  gone(): void;
}

const liveSources = new WeakMap<Response, LiveSource>();

/**
 * Gives `response` a live body that this server writes directly from `source` (close-framed,
 * as {@link closeDelimited}). The response's own body stream stays for other servers
 * (Deno.serve): this one never reads it, so build it so that nothing attaches until it is
 * read (a `pull`-driven stream with a zero high-water mark).
 *
 * Why: a live viewer gets one write per flush interval, thousands of viewers at once, and a
 * stream read per write costs several promises and resumptions on top of the socket write.
 *
 * @returns `response`.
 *
 * @example
 * ```ts
 * import { liveResponse } from "./live.ts";
 * const res = liveResponse(new Response(new ReadableStream({}, { highWaterMark: 0 })), {
 *   maxQueueBytes: 1 << 20,
 *   open: (sink) => sink.end(),
 *   gone() {},
 * });
 * await res.body?.cancel();
 * ```
 */
export function liveResponse(
  response: Response,
  source: LiveSource,
): Response {
  closeDelimitedResponses.add(response);
  liveSources.set(response, source);
  return response;
}

/** The source {@link liveResponse} gave `response`, if any. */
export function liveSourceOf(response: Response): LiveSource | undefined {
  return liveSources.get(response);
}

const CRLF = new Uint8Array([13, 10]);
/** The last chunk of a chunked body, with no trailer (RFC 9112 §7.1). */
export const LAST_CHUNK: Uint8Array = new TextEncoder().encode("0\r\n\r\n");

/** One chunk of a chunked body (RFC 9112 §7.1): size line, data, CRLF, in one buffer. */
export function chunk(b: Uint8Array): Uint8Array {
  const size = b.byteLength.toString(16);
  const out = new Uint8Array(size.length + 2 + b.byteLength + 2);
  for (let i = 0; i < size.length; i++) out[i] = size.charCodeAt(i);
  out[size.length] = 13;
  out[size.length + 1] = 10;
  out.set(b, size.length + 2);
  out.set(CRLF, out.length - 2);
  return out;
}

/** {@link chunk}s of shared buffers, so that a buffer every viewer writes is framed once. */
const chunks = new WeakMap<Uint8Array, Uint8Array>();

function chunkOnce(b: Uint8Array): Uint8Array {
  let c = chunks.get(b);
  if (!c) chunks.set(b, c = chunk(b));
  return c;
}

/**
 * Writes the head of a live response, then its source's bytes until it ends or the peer goes.
 * `fields` are the handler's, with the server's Date (and keep-alive for HTTP/1.0) added.
 *
 * @returns whether the connection may carry another request (a clean end of a chunked body).
 */
export async function writeLive(
  c: Http1Conn,
  source: LiveSource,
  status: number,
  fields: [string, string][],
  minorVersion: number,
  keep: boolean,
): Promise<boolean> {
  const chunked = source.framing === "chunked" && minorVersion === 1;
  if (chunked) {
    fields.push(["transfer-encoding", "chunked"]);
    if (!keep) fields.push(["connection", "close"]);
  } else fields.push(["connection", "close"]);
  try {
    await c.writeAll(encodeResponseHead(status, fields));
  } catch {
    c.cut = true;
    source.gone();
    return false;
  }
  const clean = await serveLive(c, source, chunked);
  if (!clean) c.cut = true;
  if (!chunked || !clean) return false;
  try {
    await c.writeAll(LAST_CHUNK);
    return keep;
  } catch {
    c.cut = true;
    return false;
  }
}

/**
 * Writes a live source's bytes until it ends or the peer goes.
 * @returns whether it ended cleanly (every queued byte written, not aborted).
 */
function serveLive(
  c: Http1Conn,
  source: LiveSource,
  chunked: boolean,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const queue = new ByteQueue();
    let writing = false;
    let ending = false;
    let over = false;
    const finish = (clean: boolean) => {
      if (over) return;
      over = true;
      queue.clear();
      try {
        source.gone();
      } finally {
        resolve(clean);
      }
    };
    const failed = () => finish(false);
    const pump = (b: Uint8Array): void => {
      writing = true;
      c.phase = "write";
      c.since = c.server.now;
      c.conn.write(b).then((n) => {
        c.sent += n;
        if (over) return;
        c.since = c.server.now;
        if (n < b.byteLength) return pump(b.subarray(n));
        // Shared buffers go out as they are; only small pieces are merged (a copy per viewer).
        const next = queue.take(MERGE_MAX_BYTES);
        if (next) return pump(next);
        writing = false;
        c.phase = "busy";
        if (ending) finish(true);
      }, failed); // the peer went, or the sweep closed a stalled connection
    };
    const sink: LiveSink = {
      write(raw) {
        if (over || ending) return false;
        if (raw.byteLength === 0) return true;
        const b = chunked ? chunkOnce(raw) : raw;
        if (!writing) {
          pump(b);
          return true;
        }
        queue.push(b);
        return queue.bytes <= source.maxQueueBytes;
      },
      end(abort = false) {
        if (over) return;
        ending = true;
        if (abort) finish(false);
        else if (!writing) finish(true);
      },
    };
    c.phase = "busy";
    try {
      source.open(sink);
    } catch (e) {
      c.server.onError("live source failed", {
        error: e instanceof Error ? e.message : String(e),
      });
      finish(false);
    }
  });
}

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
  /** How our HTTP/1.1 server frames it (see {@link LiveSource.framing}). @default "close" */
  readonly framing?: "close" | "chunked";
  readonly headers: HeadersInit;
  /** Runs once when the body is over for any reason the caller did not start itself. */
  gone(): void;
}

/**
 * A live response (HTTP-FLV) and the writer that feeds it: one writer for the hub, whichever
 * server sends it.
 *
 * Meridian's HTTP/1.1 server writes a {@link liveResponse} itself (one socket write in flight,
 * the rest merged into the next); Deno.serve reads the response's body stream. The hub should
 * not care which, and a viewer must exist from the moment its response does (bytes written
 * before the server takes the body wait here, up to the same cap), so this hands out one
 * {@link LiveOut} that forwards to whichever the server picks.
 *
 * @example
 * ```ts
 * import { createLiveBody } from "./live.ts";
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
