/**
 * An HTTP/1.1 server on `Deno.listen` (raw TCP) that runs a fetch-style handler, with a fast
 * path that answers a request from prebuilt bytes before any `Request` exists (at once, or
 * later as an async iterable of bytes: a body still arriving from elsewhere). Every HTTP port
 * of every role serves on it: the edge, the origin, control and the scheduler.
 *
 * Why not `Deno.serve`: measured here with wrk (`-t1 -c64`, server on its own core), a bare
 * Deno.serve answers a 358-byte object with 2 fields at 106k/s, while this shape writes the
 * same object with 7 fields from one prebuilt buffer at 135–146k/s; for 2 MiB objects it
 * needs half the CPU per response (3.5k against 1.7k per core). A Deno.serve response pays
 * for each field it carries and for the `Request` it builds; the edge's cache hits need
 * neither (BENCHMARKS.md, "HTTP edge on its own HTTP/1.1 server"). Long-lived streams
 * (HTTP-FLV) cost the same per socket write as on Deno.serve; at 4,000 edge viewers the
 * process held 286 MiB against 693 MiB.
 *
 * What it does: keep-alive and pipelining (requests answered in order), Content-Length and
 * chunked request bodies (bounded, read whole before the handler runs), `100 Continue`,
 * `HEAD`, a `Date` on every response, responses framed by Content-Length when the length is
 * known (byte bodies included), chunked otherwise, or by closing the connection for streams
 * marked with {@link closeDelimited}. A malformed head gets 400/413/414/417/431/501/505 and
 * the connection closes; so does a method outside {@link HTTP_METHODS}. A client that hangs
 * up cancels its response body, so a live stream sees the viewer leave. HTTPS with the `tls`
 * option (`../tls/`: certificates by SNI, reloaded without a restart, a handshake deadline;
 * ALPN says `http/1.1`). No HTTP/2, no upgrades (Meridian's viewer ports need none), no
 * response compression.
 *
 * The pieces, one concern each:
 * - `server.ts`: options, the accept loop, admission by a `ConnGuard`, the timeout sweep
 *   (request, idle and write deadlines) and shutdown;
 * - `connection.ts`: one connection's read loop (heads, pipelining, the fast path, the
 *   handler, the hang-up watch);
 * - `request_body.ts`: Content-Length and chunked bodies, `100 Continue`, the `Request`;
 * - `response_writer.ts`: framing a `Response` by length, chunks or close; HEAD and 304;
 *   `Date`;
 * - `live.ts`: close-delimited and live bodies the server writes straight from a source
 *   (HTTP-FLV), and `createLiveBody`, the hub's one writer for either server;
 * - `pulled.ts`: bodies pulled buffer by buffer with the buffer reused (VOD file ranges).
 *
 * @example
 * ```ts
 * import { createLiveBody, serveHttp1 } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const server = serveHttp1({ hostname: "127.0.0.1", port: 0 }, () => {
 *   const { response, out } = createLiveBody({ maxQueueBytes: 1 << 20, headers: {}, gone() {} });
 *   out.write(new TextEncoder().encode("FLV"));
 *   out.end(false, "stream ended");
 *   return response;
 * });
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/live/demo.flv`);
 * assert.equal(await res.text(), "FLV");
 * await server.shutdown();
 * ```
 *
 * @module
 */

export type { RequestHead } from "../../codec/http1/mod.ts";
export {
  HEAD_TIMEOUT_MS,
  http1Limits,
  type Http1Server,
  type Http1ServerOptions,
  HTTP_METHODS,
  IDLE_TIMEOUT_MS,
  MAX_LINGERING_REFUSALS,
  REFUSAL_LINGER_MS,
  serveHttp1,
  WRITE_TIMEOUT_MS,
} from "./server.ts";
export {
  type FastAnswer,
  type FastPath,
  type Http1ConnInfo,
  Http1Exchange,
  type Http1Handler,
} from "./connection.ts";
export { httpDate } from "./response_writer.ts";
export { accessRecordOf, requestField } from "./access_record.ts";
export {
  closeDelimited,
  createLiveBody,
  type LiveBodyInit,
  type LiveOut,
  liveResponse,
  type LiveSink,
  type LiveSource,
} from "./live.ts";
export { type PulledBody, pulledBodyOf, pulledResponse } from "./pulled.ts";
