/**
 * The SRT `streamid` (SRTO_STREAMID) as SRS and MediaMTX read it: the SRT access-control
 * syntax `#!::r=app/stream,m=publish|request[,u=user][,s=secret]` (Haivision's "SRT Access
 * Control" guidelines: keys r, m, u, s, h, t), MediaMTX's `publish:app/stream` and
 * `read:app/stream`, or a plain `app/stream`. A `?key=`/`?token=` query may follow the
 * resource, as on RTMP. Pure.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** SRTO_STREAMID is at most 512 bytes (libsrt's limit). */
export const MAX_STREAM_ID_BYTES = 512;

/** A streamid that names no stream. */
export class SrtStreamIdError extends CodedError<"SRT_BAD_STREAM_ID"> {
  override name = "SrtStreamIdError";
  constructor(message: string) {
    super("SRT_BAD_STREAM_ID", message);
  }
}

/** What a streamid asks for. */
export interface SrtStreamRequest {
  /** `publish`, `play` (`m=request`), or `undefined` when it does not say. */
  readonly mode: "publish" | "play" | undefined;
  readonly app: string;
  readonly stream: string;
  /** Query parameters of the resource, and `s=` as `key` and `token` when they are absent. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a streamid.
 *
 * @throws {SrtStreamIdError} For an empty or over-long id, an unknown mode, or a resource that
 *   is not `app/stream`.
 *
 * @example
 * ```ts
 * import { parseSrtStreamId } from "./stream_id.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseSrtStreamId("#!::r=live/cam?key=k1,m=publish"), {
 *   mode: "publish", app: "live", stream: "cam", params: { key: "k1" },
 * });
 * assert.equal(parseSrtStreamId("live/cam").mode, undefined);
 * assert.equal(parseSrtStreamId("read:live/cam").mode, "play");
 * ```
 */
export function parseSrtStreamId(id: string): SrtStreamRequest {
  if (id.length === 0) {
    throw new SrtStreamIdError(
      "Invalid SRT streamid: empty, expected #!::r=app/stream,m=publish|request or app/stream",
    );
  }
  if (new TextEncoder().encode(id).byteLength > MAX_STREAM_ID_BYTES) {
    throw new SrtStreamIdError(
      `Invalid SRT streamid: must be at most ${MAX_STREAM_ID_BYTES} bytes, got ${id.length} characters`,
    );
  }
  let resource: string;
  let mode: SrtStreamRequest["mode"];
  let secret: string | undefined;
  if (id.startsWith("#!::")) {
    const fields = new Map<string, string>();
    for (const part of id.slice(4).split(",")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      if (eq <= 0) {
        throw new SrtStreamIdError(
          `Invalid SRT streamid: expected key=value items, got '${
            part.slice(0, 40)
          }'`,
        );
      }
      fields.set(part.slice(0, eq), part.slice(eq + 1));
    }
    resource = fields.get("r") ?? "";
    const m = fields.get("m");
    if (m === undefined) mode = undefined;
    else if (m === "publish") mode = "publish";
    else if (m === "request") mode = "play";
    else {
      throw new SrtStreamIdError(
        `Invalid SRT streamid: m must be publish or request, got '${
          m.slice(0, 20)
        }'`,
      );
    }
    secret = fields.get("s");
  } else if (id.startsWith("publish:")) {
    mode = "publish";
    resource = id.slice(8);
  } else if (id.startsWith("read:")) {
    mode = "play";
    resource = id.slice(5);
  } else {
    resource = id;
  }
  const q = resource.indexOf("?");
  const path = q < 0 ? resource : resource.slice(0, q);
  const params: Record<string, string> = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(resource.slice(q + 1))) {
      params[k] = v;
    }
  }
  if (secret !== undefined) {
    params.key ??= secret;
    params.token ??= secret;
  }
  const parts = path.replace(/^\/+/, "").split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new SrtStreamIdError(
      `Invalid SRT streamid: the resource must be app/stream, got '${
        path.slice(0, 80)
      }'`,
    );
  }
  return { mode, app: parts[0], stream: parts[1], params };
}
