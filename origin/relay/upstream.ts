/**
 * One connection of a relay pull to one upstream origin, over RTMP (`pull_rtmp.ts`) or
 * HTTP-FLV (`pull_flv.ts`): what both give their owner (tags, a start, an end with its
 * reason) and the upstreams as parsed from `origin.relay.upstreams`.
 *
 * Every wait is bounded: the start (connect, handshake, play or response head) by
 * `startTimeoutMs`, every later pause by `readTimeoutMs`. An upstream that sends garbage,
 * closes mid-stream or never answers ends its own connection with a {@link RelayError}; nothing
 * else is touched.
 *
 * @module
 */

import type { FlvTag } from "../../codec/flv/mod.ts";
import type { RelayUpstreamConfig } from "../../config/mod.ts";
import type { RelayError } from "./errors.ts";
import type { RelayChain } from "./wire.ts";

/** An upstream as the relay uses it. */
export interface Upstream {
  /** The configured URL, as status and logs show it (it carries no credentials). */
  readonly url: string;
  readonly kind: "rtmp" | "http";
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  /** HTTP base of its stream list, or "" when it has none. */
  readonly apiUrl: string;
  /** Apps pulled from it; empty = every app. */
  readonly apps: ReadonlySet<string>;
}

/** Default ports when an upstream URL names none. */
const DEFAULT_PORTS = { rtmp: 1935, rtmps: 443, http: 80, https: 443 } as const;

/**
 * Parses the configured upstreams (already validated by config/origin_schema.ts).
 *
 * @example
 * ```ts
 * import { parseUpstreams } from "./upstream.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = parseUpstreams([
 *   { url: "rtmp://10.0.0.1", apiUrl: "http://10.0.0.1:8090", apps: [] },
 *   { url: "http://10.0.0.2:8090/", apiUrl: "", apps: ["live"] },
 * ]);
 * assert.equal(a!.port, 1935);
 * assert.equal(b!.apiUrl, "http://10.0.0.2:8090");
 * ```
 */
export function parseUpstreams(
  configs: readonly RelayUpstreamConfig[],
): Upstream[] {
  return configs.map((c) => {
    const u = new URL(c.url);
    const scheme = u.protocol.slice(0, -1) as keyof typeof DEFAULT_PORTS;
    const kind = scheme.startsWith("rtmp") ? "rtmp" : "http";
    const base = `${u.protocol}//${u.host}`;
    const apiUrl = c.apiUrl !== ""
      ? c.apiUrl.replace(/\/+$/, "")
      : kind === "http"
      ? base
      : "";
    return {
      url: base,
      kind,
      tls: scheme === "rtmps" || scheme === "https",
      hostname: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port === "" ? DEFAULT_PORTS[scheme] : Number(u.port),
      apiUrl,
      apps: new Set(c.apps),
    };
  });
}

/** True when `upstream` serves `app`. */
export function servesApp(upstream: Upstream, app: string): boolean {
  return upstream.apps.size === 0 || upstream.apps.has(app);
}

/** What one pull asks of an upstream. */
export interface PullRequest {
  readonly app: string;
  readonly name: string;
  /** The chain this pull carries (this node last). */
  readonly chain: RelayChain;
  /** The cascade's shared secret ("" = none sent). */
  readonly secret: string;
}

/** Time bounds of one connection (ms). */
export interface PullTimeouts {
  /** Connect, handshake and the play's start (or the response head) within this. */
  readonly startTimeoutMs: number;
  /** After the start, the longest silence. */
  readonly readTimeoutMs: number;
}

/** Where a connection's media goes. Called synchronously, in order. */
export interface PullHandlers {
  onTag(tag: FlvTag): void;
  /**
   * The tags of one read have all been handed over. The upstream coalesced them already (its
   * flush interval): the relay's hub writes them to its viewers now instead of coalescing them
   * a second time, so a hop adds no second interval.
   */
  onBatchEnd?(): void;
}

/** One connection to one upstream. */
export interface PullConnection {
  /** Resolves when media flows (play started, 200 with an FLV body); rejects with a RelayError. */
  readonly started: Promise<void>;
  /**
   * Resolves when the connection is over: `undefined` when the upstream ended the stream
   * cleanly (unpublished) or we closed it, else why it broke. Never rejects.
   */
  readonly ended: Promise<RelayError | undefined>;
  /** Bytes received so far. */
  readonly bytesIn: number;
  /** Closes the connection (idempotent); `ended` then resolves with `undefined`. */
  close(): void;
}

/**
 * What `rtmps://` and `https://` upstreams are checked against besides the built-in roots
 * (`tls.caFile`): the CA certificates (RTMPS) and an HTTP client made with them (HTTPS).
 */
export interface PullTls {
  readonly caCerts?: readonly string[];
  readonly client?: Deno.HttpClient;
}

/** Opens a connection (a function so tests and the relay pick the transport alike). */
export type OpenPull = (
  upstream: Upstream,
  request: PullRequest,
  timeouts: PullTimeouts,
  handlers: PullHandlers,
) => PullConnection;

/** `app/name` for messages. */
export function streamOf(request: PullRequest): string {
  return `${request.app}/${request.name}`;
}
