/**
 * Upstream requests: pick an origin, bound the wait for headers, report health, and retry a
 * failed idempotent request once on another origin.
 *
 * @module
 */

import { EdgeErrorCode, UpstreamError } from "../errors.ts";
import type { HealthMonitor } from "./health.ts";
import { deleteHopByHop } from "./hop_by_hop.ts";
import type { Origin, OriginSelector } from "./select.ts";

/**
 * Statuses a gateway or a server that cannot serve at all answers (RFC 9110 §15.6.3-5): worth
 * an active check of the origin, never a failure by themselves.
 */
const GATEWAY_STATUSES = new Set([502, 503, 504]);

/**
 * True when `fetch` failed before any connection was made (refused, unreachable, DNS). Deno's
 * fetch says so as `client error (Connect)`; anything else (a reset after connecting) is not
 * taken for certain.
 */
function isConnectFailure(cause: unknown): boolean {
  let e = cause;
  for (let depth = 0; e instanceof Error && depth < 4; depth++) {
    if (
      /client error \(Connect\)|tcp connect error|dns error/i.test(e.message)
    ) {
      return true;
    }
    e = e.cause;
  }
  return false;
}

/** The path of a request target without its query: errors and logs never carry tokens. */
function pathOf(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

/** One upstream request. */
export interface UpstreamRequest {
  /** Path and query, e.g. `/live/a.m3u8?token=x`. */
  readonly path: string;
  readonly method?: "GET" | "HEAD";
  readonly headers?: Headers;
  /** Origins not to try (a reconnect after this origin failed). */
  readonly exclude?: ReadonlySet<string>;
  /** 5xx answers count as failures and are retried (false for live FLV: a 404 is final). */
  readonly retryOn5xx?: boolean;
}

/** An upstream response with the origin that gave it. */
export interface UpstreamResponse {
  readonly response: Response;
  readonly origin: Origin;
  /** When the request was sent / the headers arrived (epoch ms), for RFC 9111 §4.2.3. */
  readonly requestTimeMs: number;
  readonly responseTimeMs: number;
  /** Aborts the body transfer (and the connection). */
  abort(): void;
}

/**
 * Called once per attempt, for metrics: `failure` says why an `error` attempt got no usable
 * answer (no answer in time, no connection, a connection cut, a status that is not HTTP's).
 */
export type UpstreamObserver = (
  origin: Origin,
  outcome: "ok" | "error" | "5xx",
  latencyMs: number,
  failure?: "timeout" | "connect" | "broken" | "status",
) => void;

/** Options of {@link UpstreamClient}. */
export interface UpstreamClientOptions {
  /** Connect + headers timeout (ms). */
  readonly timeoutMs: number;
}

/** What {@link UpstreamClient} uses. */
export interface UpstreamClientDeps {
  readonly selector: OriginSelector;
  readonly health: HealthMonitor;
  readonly client?: Deno.HttpClient;
  readonly observe?: UpstreamObserver;
  readonly now?: () => number;
}

/**
 * Fetches from origins with failover.
 *
 * @example
 * ```ts ignore
 * const { response, origin } = await upstream.fetch({ path: "/live/a.m3u8" });
 * ```
 */
export class UpstreamClient {
  readonly #options: UpstreamClientOptions;
  readonly #deps: UpstreamClientDeps;
  readonly #now: () => number;

  constructor(options: UpstreamClientOptions, deps: UpstreamClientDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Sends the request to one origin; on a connect error, timeout or (when `retryOn5xx`) a 5xx,
   * retries once on another origin. A final 5xx is returned, not thrown.
   *
   * @throws {UpstreamError} When no origin answered.
   */
  async fetch(request: UpstreamRequest): Promise<UpstreamResponse> {
    const tried = new Set<string>(request.exclude ?? []);
    let lastError: UpstreamError | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const origin = this.#deps.selector.select(tried);
      if (!origin) break;
      tried.add(origin.id);
      try {
        const res = await this.#once(origin, request);
        const is5xx = res.response.status >= 500;
        if (is5xx && request.retryOn5xx !== false && attempt === 0) {
          const other = this.#deps.selector.select(tried);
          if (other) {
            res.abort();
            lastError = new UpstreamError(
              EdgeErrorCode.UpstreamStatus,
              `Cannot fetch ${
                pathOf(request.path)
              } from origin ${origin.url}: status ${res.response.status}`,
              { origin: origin.url, status: res.response.status },
            );
            continue;
          }
        }
        return res;
      } catch (e) {
        lastError = e instanceof UpstreamError ? e : new UpstreamError(
          EdgeErrorCode.UpstreamConnect,
          `Cannot fetch ${pathOf(request.path)} from origin ${origin.url}`,
          { origin: origin.url },
          { cause: e },
        );
      }
    }
    throw lastError ?? new UpstreamError(
      EdgeErrorCode.UpstreamConnect,
      `Cannot fetch ${pathOf(request.path)}: no origin left to try`,
    );
  }

  async #once(
    origin: Origin,
    request: UpstreamRequest,
  ): Promise<UpstreamResponse> {
    const headers = new Headers(request.headers);
    // Hop-by-hop fields and those the viewer's Connection names stay on its connection
    // (RFC 9110 §7.6.1); Host is the origin's, set by fetch.
    deleteHopByHop(headers);
    headers.delete("host");
    const ac = new AbortController();
    const timeoutMs = this.#options.timeoutMs;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
    const requestTimeMs = this.#now();
    const health = this.#deps.health;
    try {
      const response = await fetch(origin.url + request.path, {
        method: request.method ?? "GET",
        headers,
        signal: ac.signal,
        redirect: "manual",
        ...(this.#deps.client ? { client: this.#deps.client } : {}),
      });
      const responseTimeMs = this.#now();
      const latency = responseTimeMs - requestTimeMs;
      if (response.status < 200 || response.status > 599) {
        // RFC 9110 §15: a status is 100-599 (1xx never gets here); anything else cannot be
        // relayed (a Response refuses it) and is a broken answer to this URL: a 502, like a
        // broken connection.
        ac.abort();
        this.#deps.observe?.(origin, "error", latency, "status");
        health.reportSuspect(origin.id, `status ${response.status}`);
        throw new UpstreamError(
          EdgeErrorCode.UpstreamStatus,
          `Cannot fetch ${
            pathOf(request.path)
          } from origin ${origin.url}: status ${response.status} is not an HTTP status`,
          { origin: origin.url, status: response.status },
        );
      }
      if (response.status >= 500) {
        // A 5xx is an answer to one URL, which the viewer chose: never a failure by itself.
        // A gateway-class status may mean the origin's own backend is gone: check it now.
        if (GATEWAY_STATUSES.has(response.status)) {
          health.reportSuspect(origin.id, `status ${response.status}`);
        }
        this.#deps.observe?.(origin, "5xx", latency);
      } else {
        health.reportSuccess(origin.id);
        this.#deps.observe?.(origin, "ok", latency);
      }
      return {
        response,
        origin,
        requestTimeMs,
        responseTimeMs,
        abort: () => ac.abort(),
      };
    } catch (cause) {
      if (cause instanceof UpstreamError) throw cause; // judged above
      const latency = this.#now() - requestTimeMs;
      const refused = !timedOut && isConnectFailure(cause);
      this.#deps.observe?.(
        origin,
        "error",
        latency,
        timedOut ? "timeout" : refused ? "connect" : "broken",
      );
      if (timedOut) {
        // Slow on this URL, maybe only this one: check the origin rather than count it.
        health.reportSuspect(origin.id, `no answer within ${timeoutMs} ms`);
        throw new UpstreamError(
          EdgeErrorCode.UpstreamTimeout,
          `Cannot fetch ${
            pathOf(request.path)
          } from origin ${origin.url}: no answer within ${timeoutMs} ms`,
          { origin: origin.url },
          { cause },
        );
      }
      if (refused) {
        // No connection at all is certain, whatever the URL: mark the origin down at once.
        health.reportFailure(origin.id, "connect error", true);
      } else {
        // Connected, then broken (the origin may close on one URL): check it now.
        health.reportSuspect(origin.id, "connection broke");
      }
      throw new UpstreamError(
        EdgeErrorCode.UpstreamConnect,
        `Cannot fetch ${pathOf(request.path)} from origin ${origin.url}: ${
          refused ? "connect error" : "connection broke"
        }`,
        { origin: origin.url },
        { cause },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
