/**
 * A relay pull over HTTP-FLV: `GET {upstream}/{app}/{stream}.flv?relayHops=…&relayVia=…` with
 * the secret in {@link RELAY_SECRET_HEADER}, the body read with the incremental FLV reader.
 *
 * 404 is `RELAY_NOT_FOUND`; 401, 403 and 508 keep the upstream's reason (secret, access, loop,
 * depth); any other status, a body that is not FLV (wrong content type, a bad signature, a
 * tag that does not parse) is `RELAY_BAD_UPSTREAM`; a body that ends between tags is a clean
 * end (the upstream's stream ended), one that ends inside a tag is `RELAY_BROKEN`.
 *
 * @module
 */

import { FlvFormatError, FlvReader } from "../../codec/flv/mod.ts";
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
import { chainParams, refusalFromText, RELAY_SECRET_HEADER } from "./wire.ts";

/** Most bytes of an error answer read for its reason. */
const MAX_REASON_BYTES = 1024;

/** Reads at most {@link MAX_REASON_BYTES} of a body as text, then lets the rest go. */
async function reasonOf(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < MAX_REASON_BYTES) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      n += r.value.byteLength;
    }
  } catch {
    // what arrived is the reason
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return new TextDecoder().decode(all.subarray(0, MAX_REASON_BYTES));
}

/**
 * Opens an HTTP-FLV pull of `request` from `upstream`.
 *
 * @example
 * ```ts ignore
 * const c = openFlvPull(up, { app: "live", name: "cam", chain, secret }, timeouts, { onTag });
 * await c.started;
 * ```
 */
export function openFlvPull(
  upstream: Upstream,
  request: PullRequest,
  timeouts: PullTimeouts,
  handlers: PullHandlers,
  tls: PullTls = {},
): PullConnection {
  const what = streamOf(request);
  const ac = new AbortController();
  const life = new PullLifecycle(
    timeouts.startTimeoutMs,
    () =>
      new RelayError(
        RelayErrorCode.Timeout,
        `Cannot pull ${what} from ${upstream.url}: no answer within ${timeouts.startTimeoutMs} ms`,
        upstream.url,
      ),
    () => ac.abort(),
  );
  const fail = (code: RelayError["code"], why: string, cause?: unknown) =>
    life.fail(
      new RelayError(
        code,
        `Cannot pull ${what} from ${upstream.url}: ${why}`,
        upstream.url,
        cause === undefined ? undefined : { cause },
      ),
    );

  const run = async () => {
    const query = new URLSearchParams(chainParams(request.chain));
    const url = `${upstream.url}/${encodeURIComponent(request.app)}/${
      encodeURIComponent(request.name)
    }.flv?${query}`;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: request.secret === ""
          ? {}
          : { [RELAY_SECRET_HEADER]: request.secret },
        signal: ac.signal,
        redirect: "manual",
        ...(tls.client ? { client: tls.client } : {}),
      });
    } catch (cause) {
      if (!life.over) {
        fail(
          RelayErrorCode.Connect,
          `connect failed: ${causeText(cause)}`,
          cause,
        );
      }
      return;
    }
    if (res.status !== 200) {
      const reason = await reasonOf(res);
      if (res.status === 404) {
        fail(RelayErrorCode.NotFound, "stream not found");
      } else if ([401, 403, 508].includes(res.status)) {
        life.fail(refusalFromText(reason, upstream.url, what));
      } else {
        fail(RelayErrorCode.BadUpstream, `status ${res.status}`);
      }
      return;
    }
    const type = res.headers.get("content-type") ?? "";
    if (!type.startsWith("video/x-flv") || !res.body) {
      await res.body?.cancel().catch(() => {});
      fail(
        RelayErrorCode.BadUpstream,
        `not HTTP-FLV: content type '${type.slice(0, 64)}'`,
      );
      return;
    }
    life.start();
    const reader = res.body.getReader();
    const flv = new FlvReader();
    const silent = () =>
      new RelayError(
        RelayErrorCode.Timeout,
        `Cannot pull ${what} from ${upstream.url}: nothing received for ${timeouts.readTimeoutMs} ms`,
        upstream.url,
      );
    try {
      while (!life.over) {
        life.heard(timeouts.readTimeoutMs, silent);
        const r = await reader.read();
        if (r.done) {
          if (flv.atTagBoundary) life.end();
          else fail(RelayErrorCode.Broken, "the body ended inside a tag");
          return;
        }
        life.bytesIn += r.value.byteLength;
        flv.push(r.value);
        for (let tag = flv.pull(); tag && !life.over; tag = flv.pull()) {
          handlers.onTag(tag);
        }
        handlers.onBatchEnd?.();
      }
    } catch (cause) {
      if (life.over) return;
      if (cause instanceof FlvFormatError) {
        fail(RelayErrorCode.BadUpstream, `not FLV: ${cause.message}`, cause);
      } else fail(RelayErrorCode.Broken, "the body broke", cause);
    } finally {
      reader.cancel().catch(() => {});
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
