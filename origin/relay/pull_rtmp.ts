/**
 * A relay pull over RTMP: the I/O-free {@link RtmpClientSession} (protocol/rtmp) in play mode
 * on a socket, its relay mark (chain and secret) in the `connect` command object.
 *
 * `NetStream.Play.StreamNotFound` is `RELAY_NOT_FOUND`; any other refusal (`_error`, an error
 * onStatus) keeps the upstream's description; `NetStream.Play.UnpublishNotify` (and
 * `Play.Stop`) is a clean end; a protocol error, a close before the play starts, or bytes that
 * are not RTMP end the connection as `RELAY_BAD_UPSTREAM`.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";
import { RtmpProtocolError } from "../../codec/rtmp/mod.ts";
import { RtmpClientSession } from "../../protocol/rtmp/mod.ts";
import { RTMP_RELAY_FIELD } from "../rtmp/session.ts";
import { causeText, RelayError, RelayErrorCode } from "./errors.ts";
import { PullLifecycle } from "./_lifecycle.ts";
import {
  type PullConnection,
  type PullHandlers,
  type PullRequest,
  type PullTimeouts,
  type PullTls,
  streamOf,
  type Upstream,
} from "./upstream.ts";
import { refusalFromText, rtmpRelayField } from "./wire.ts";

/** Bytes read from the upstream's socket at a time. */
const READ_BUFFER_BYTES = 64 * 1024;

/** onStatus codes that end a play cleanly: the upstream's stream is over. */
const END_CODES = new Set([
  "NetStream.Play.UnpublishNotify",
  "NetStream.Play.Stop",
  "NetStream.Play.Complete",
]);

/** Writes all of `bytes` (a socket write may take part of them). */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  for (let off = 0; off < bytes.byteLength;) {
    off += await conn.write(bytes.subarray(off));
  }
}

/**
 * Opens an RTMP play of `request` on `upstream`.
 *
 * @example
 * ```ts ignore
 * const c = openRtmpPull(up, { app: "live", name: "cam", chain, secret }, timeouts, { onTag });
 * await c.started;
 * const why = await c.ended;
 * ```
 */
export function openRtmpPull(
  upstream: Upstream,
  request: PullRequest,
  timeouts: PullTimeouts,
  handlers: PullHandlers,
  tls: PullTls = {},
): PullConnection {
  const what = streamOf(request);
  const ac = new AbortController();
  let conn: Deno.Conn | undefined;
  const life = new PullLifecycle(
    timeouts.startTimeoutMs,
    () =>
      new RelayError(
        RelayErrorCode.Timeout,
        `Cannot pull ${what} from ${upstream.url}: no play start within ${timeouts.startTimeoutMs} ms`,
        upstream.url,
      ),
    () => {
      ac.abort();
      try {
        conn?.close();
      } catch {
        // already closed
      }
    },
  );
  const session = new RtmpClientSession({
    mode: "play",
    tcUrl: `${upstream.tls ? "rtmps" : "rtmp"}://${
      upstream.hostname.includes(":")
        ? `[${upstream.hostname}]`
        : upstream.hostname
    }:${upstream.port}/${request.app}`,
    app: request.app,
    stream: request.name,
    connectFields: {
      [RTMP_RELAY_FIELD]: rtmpRelayField(request.chain, request.secret),
    },
    onEvent: (e) => {
      switch (e.type) {
        case "started":
          life.start();
          return;
        case "media":
          if (life.isStarted) handlers.onTag(e.tag);
          return;
        case "refused":
          life.fail(
            e.code === "NetStream.Play.StreamNotFound"
              ? new RelayError(
                RelayErrorCode.NotFound,
                `Cannot pull ${what} from ${upstream.url}: stream not found`,
                upstream.url,
              )
              : refusalFromText(e.description || e.code, upstream.url, what),
          );
          return;
        case "status":
          if (END_CODES.has(e.code)) life.end();
          return;
        case "connected":
          return;
      }
    },
  });

  const broken = (why: string, cause?: unknown) =>
    new RelayError(
      RelayErrorCode.Broken,
      `Cannot pull ${what} from ${upstream.url}: ${why}`,
      upstream.url,
      cause === undefined ? undefined : { cause },
    );

  const run = async () => {
    try {
      const options = {
        hostname: upstream.hostname,
        port: upstream.port,
        signal: ac.signal,
      };
      conn = upstream.tls
        ? await Deno.connectTls({
          ...options,
          caCerts: [...(tls.caCerts ?? [])],
        })
        : await Deno.connect(options);
    } catch (cause) {
      life.fail(
        new RelayError(
          RelayErrorCode.Connect,
          `Cannot pull ${what} from ${upstream.url}: connect failed: ${
            causeText(cause)
          }`,
          upstream.url,
          { cause },
        ),
      );
      return;
    }
    if (life.over) {
      conn.close();
      return;
    }
    if (!upstream.tls) (conn as Deno.TcpConn).setNoDelay(true);
    const c = conn;
    const flush = async () => {
      const out = session.takeOutput();
      if (out.length > 0) await writeAll(c, concatBytes(out));
    };
    const silent = () =>
      new RelayError(
        RelayErrorCode.Timeout,
        `Cannot pull ${what} from ${upstream.url}: nothing received for ${timeouts.readTimeoutMs} ms`,
        upstream.url,
      );
    try {
      await writeAll(c, session.start());
      const buf = new Uint8Array(READ_BUFFER_BYTES);
      while (!life.over) {
        if (life.isStarted) life.heard(timeouts.readTimeoutMs, silent);
        const n = await c.read(buf);
        if (n === null) {
          life.fail(
            life.isStarted
              ? broken("the upstream closed the connection mid-stream")
              : new RelayError(
                RelayErrorCode.BadUpstream,
                `Cannot pull ${what} from ${upstream.url}: the connection closed before the play started`,
                upstream.url,
              ),
          );
          return;
        }
        life.bytesIn += n;
        session.receive(buf.subarray(0, n));
        if (life.isStarted) handlers.onBatchEnd?.();
        await flush();
      }
    } catch (cause) {
      if (life.over) return; // our own close interrupted the read
      life.fail(
        cause instanceof RtmpProtocolError
          ? new RelayError(
            RelayErrorCode.BadUpstream,
            `Cannot pull ${what} from ${upstream.url}: not RTMP: ${cause.message}`,
            upstream.url,
            { cause },
          )
          : life.isStarted
          ? broken(`the connection broke: ${causeText(cause)}`, cause)
          // Before the play started: the TLS handshake (done on the first write) or the socket.
          : new RelayError(
            RelayErrorCode.Connect,
            `Cannot pull ${what} from ${upstream.url}: connect failed: ${
              causeText(cause)
            }`,
            upstream.url,
            { cause },
          ),
      );
    }
  };
  void run();

  return {
    started: life.started,
    ended: life.ended,
    get bytesIn() {
      return life.bytesIn;
    },
    close: () => life.end(),
  };
}
