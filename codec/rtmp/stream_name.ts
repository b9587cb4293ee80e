/**
 * RTMP names with a query: clients carry credentials and options after a `?` in the tcUrl,
 * the app and the stream name of `connect`, `publish` and `play` (`live?key=k1`,
 * `demo?token=…`), as FMS, SRS and nginx-rtmp read them. The RTMP specification leaves names
 * opaque (§7.2.1.1, §7.2.2.6), so the query is `application/x-www-form-urlencoded` (WHATWG URL
 * §5), the way those servers and the clients that talk to them write it.
 *
 * Pure: strings in, values out.
 *
 * @module
 */

import { RtmpErrorCode, RtmpProtocolError } from "./errors.ts";

/** Query parameters from the tcUrl, the app and the stream name, later ones winning. */
export type RtmpParams = Readonly<Record<string, string>>;

/** A name and the parameters of its query. */
export interface NameWithQuery {
  readonly name: string;
  readonly params: Record<string, string>;
}

/**
 * Splits `name?query` at the first `?` into the name and its parameters (a key given twice:
 * the last value wins). A value without `?` is all name.
 *
 * @param value A stream or app name as the client sent it.
 * @returns The name (never containing `?`) and its parameters (percent- and `+`-decoded).
 *
 * @example
 * ```ts
 * import { splitQuery } from "./stream_name.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(splitQuery("demo?token=a%2Bb&x=1"), { name: "demo", params: { token: "a+b", x: "1" } });
 * assert.deepEqual(splitQuery("demo"), { name: "demo", params: {} });
 * ```
 */
export function splitQuery(value: string): NameWithQuery {
  const q = value.indexOf("?");
  if (q < 0) return { name: value, params: {} };
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(value.slice(q + 1))) params[k] = v;
  return { name: value.slice(0, q), params };
}

/**
 * The inverse of {@link splitQuery}: `name`, then `?` and the parameters form-encoded when
 * there are any.
 *
 * @throws {RtmpProtocolError} `RTMP_NOT_ENCODABLE` when `name` contains `?` (it would split
 *   elsewhere).
 *
 * @example
 * ```ts
 * import { joinQuery, splitQuery } from "./stream_name.ts";
 * import assert from "node:assert/strict";
 * const s = joinQuery("demo", { token: "a b&c" });
 * assert.equal(s, "demo?token=a+b%26c");
 * assert.deepEqual(splitQuery(s), { name: "demo", params: { token: "a b&c" } });
 * ```
 */
export function joinQuery(name: string, params: RtmpParams): string {
  if (name.includes("?")) {
    throw new RtmpProtocolError(
      RtmpErrorCode.NotEncodable,
      `Cannot encode RTMP name: it contains '?', got '${name.slice(0, 64)}'`,
    );
  }
  const query = new URLSearchParams(params as Record<string, string>)
    .toString();
  return query === "" ? name : `${name}?${query}`;
}

/**
 * The app a `connect` names and the parameters of its queries (§7.2.1.1): the tcUrl's, then
 * the app's (the app's win). Trailing slashes of the app go: `live/` is the app `live`.
 *
 * @param app The command object's `app`.
 * @param tcUrl The command object's `tcUrl` (`""` when absent).
 *
 * @example
 * ```ts
 * import { splitConnectQuery } from "./stream_name.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   splitConnectQuery("live/?key=app", "rtmp://h/live?key=url&u=1"),
 *   { app: "live", params: { key: "app", u: "1" } },
 * );
 * ```
 */
export function splitConnectQuery(
  app: string,
  tcUrl: string,
): { app: string; params: Record<string, string> } {
  const fromApp = splitQuery(app);
  const fromTcUrl = splitQuery(tcUrl);
  return {
    app: fromApp.name.replace(/\/+$/, ""),
    params: { ...fromTcUrl.params, ...fromApp.params },
  };
}
