/**
 * The token service: `GET /gettoken?token={service password}&app=&duration=&limit=&format=`
 * (shared/INTERFACES.md).
 *
 * @module
 */

import type { ControlMetrics } from "./metrics.ts";
import { Hono } from "hono";
import type { Logger } from "../log/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import {
  type SharedStore,
  StoreError,
  StoreErrorCode,
  type TokenRecord,
} from "../store/mod.ts";
import { clientAddress, NO_STORE, textError } from "../net/http/respond.ts";
import type { FailureLockout } from "../net/http/lockout.ts";
import { constantTimeEqual, generateToken } from "../access/mod.ts";

/** Longest `duration` accepted: ten years, in seconds. */
export const MAX_TOKEN_DURATION_SECONDS = 315_360_000;
/** Largest `limit` accepted. */
export const MAX_TOKEN_USES = 1_000_000_000;
/** Mint attempts when a fresh token collides with a stored one (62^16: never, in practice). */
const MINT_ATTEMPTS = 3;
const APP_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const UINT_RE = /^[0-9]{1,12}$/;

/** What the token service needs from config. */
export interface TokenServiceOptions {
  readonly servicePassword: string;
  readonly defaultTokenDurationSeconds: number;
  /** 0 means unlimited uses. */
  readonly defaultTokenUses: number;
}

/** What the token service needs from the process. */
export interface TokenServiceDeps {
  readonly store: SharedStore;
  readonly lockout: FailureLockout;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /** Unix ms. */
  readonly clock: () => number;
  /** Tokens minted and requests refused, by reason. */
  readonly counters?: ControlMetrics;
}

/** Response formats of `/gettoken`. */
export const TokenFormat = {
  Plain: "plain",
  Xml: "xml",
  Json: "json",
} as const;
/** One of {@link TokenFormat}. */
export type TokenFormat = typeof TokenFormat[keyof typeof TokenFormat];

/**
 * Renders a minted token in the asked format: the exact bytes and content type.
 *
 * @example
 * ```ts
 * import { renderToken } from "./gettoken.ts";
 * const r = renderToken("AbCdEfGh12345678", "json");
 * if (r.body !== '{"Token":"AbCdEfGh12345678"}') throw new Error(r.body);
 * ```
 */
export function renderToken(
  token: string,
  format: TokenFormat,
): { body: string; contentType: string } {
  switch (format) {
    case "xml":
      return {
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Token>${token}</Token>`,
        contentType: "application/xml; charset=utf-8",
      };
    case "json":
      // RFC 8259 §11: application/json has no charset parameter.
      return {
        body: JSON.stringify({ Token: token }),
        contentType: "application/json",
      };
    default:
      return { body: token, contentType: "text/plain; charset=utf-8" };
  }
}

/**
 * Checks an app name for a token's scope.
 *
 * @returns The 400 message, or `undefined` when the name is fine.
 * @example
 * ```ts
 * import { checkAppName } from "./gettoken.ts";
 * if (checkAppName("live") !== undefined || checkAppName("../x") === undefined) throw new Error();
 * ```
 */
export function checkAppName(app: string): string | undefined {
  if (APP_RE.test(app) && !app.includes("..")) {
    return undefined;
  }
  return `Invalid app: got ${
    JSON.stringify(app.slice(0, 64))
  }, expected a name of [A-Za-z0-9_.-] (omit app for every app)`;
}

/** What to mint. */
export interface MintSpec {
  /** `null`: every app. */
  readonly app: string | null;
  readonly durationSeconds: number;
  /** 0: unlimited. */
  readonly maxUses: number;
}

/**
 * Mints and stores a fresh token (validated `spec` assumed), retrying on the (never seen in
 * practice) collision with a stored one.
 *
 * @throws {StoreError} When the store fails.
 */
export async function mintToken(
  store: Pick<SharedStore, "createToken">,
  spec: MintSpec,
  nowMs: number,
): Promise<TokenRecord> {
  for (let attempt = 1;; attempt++) {
    const record: TokenRecord = {
      token: generateToken(),
      app: spec.app,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + spec.durationSeconds * 1000,
      maxUses: spec.maxUses,
    };
    try {
      await store.createToken(record);
      return record;
    } catch (err) {
      if (
        err instanceof StoreError &&
        err.code === StoreErrorCode.TokenExists && attempt < MINT_ATTEMPTS
      ) continue;
      throw err;
    }
  }
}

function parseUint(
  raw: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
  unit: string,
): number | string {
  if (raw === undefined) return fallback;
  const n = UINT_RE.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) {
    return `Invalid ${name}: got ${
      JSON.stringify(raw.slice(0, 32))
    }, expected an integer ${min}..${max} (${unit})`;
  }
  return n;
}

/**
 * Creates the `/gettoken` route.
 *
 * Order of checks: the service password (the right one passes, even from a locked-out address;
 * a wrong one is 429 while locked out, else 403 and counted), parameters (400), mint.
 */
export function createTokenService(
  options: TokenServiceOptions,
  deps: TokenServiceDeps,
): Hono {
  const { store, lockout, log, clock } = deps;
  const requests = deps.metrics.counter(
    "meridian_control_gettoken_requests_total",
    "Token service requests by status",
  );
  const app = new Hono();

  app.get("/gettoken", async (c) => {
    const client = clientAddress(c);
    const q = (name: string) => c.req.query(name);
    // The right password passes even from a locked-out address (see lockout.ts).
    const verdict = lockout.judge(
      client,
      constantTimeEqual(q("token") ?? "", options.servicePassword),
    );
    if (verdict.kind === "locked") {
      requests.inc({ status: 429 });
      deps.counters?.refused("locked_out");
      return textError(
        c,
        429,
        `Too many wrong service passwords: retry in ${verdict.retryAfterSeconds} seconds`,
        { "Retry-After": String(verdict.retryAfterSeconds) },
      );
    }
    if (verdict.kind === "wrong") {
      if (verdict.lockedNow) {
        log.warn("client locked out after wrong service passwords", {
          client,
        });
      }
      requests.inc({ status: 403 });
      deps.counters?.refused("wrong_password");
      return textError(c, 403, "Forbidden: wrong service password");
    }

    const appName = q("app");
    const badApp = appName === undefined ? undefined : checkAppName(appName);
    if (badApp !== undefined) {
      requests.inc({ status: 400 });
      deps.counters?.refused("bad_request");
      return textError(c, 400, badApp);
    }
    const duration = parseUint(
      q("duration"),
      "duration",
      options.defaultTokenDurationSeconds,
      1,
      MAX_TOKEN_DURATION_SECONDS,
      "seconds",
    );
    const limit = parseUint(
      q("limit"),
      "limit",
      options.defaultTokenUses,
      0,
      MAX_TOKEN_USES,
      "uses, 0 for unlimited",
    );
    const formatRaw = q("format") ?? "plain";
    const problem = typeof duration === "string"
      ? duration
      : typeof limit === "string"
      ? limit
      : !["plain", "xml", "json"].includes(formatRaw)
      ? `Invalid format: got ${
        JSON.stringify(formatRaw.slice(0, 32))
      }, expected xml or json (omit for plain text)`
      : undefined;
    if (
      problem !== undefined || typeof duration !== "number" ||
      typeof limit !== "number"
    ) {
      requests.inc({ status: 400 });
      deps.counters?.refused("bad_request");
      return textError(c, 400, problem ?? "Invalid parameters");
    }

    const record = await mintToken(store, {
      app: appName ?? null,
      durationSeconds: duration,
      maxUses: limit,
    }, clock());
    log.info("token minted", {
      app: appName ?? "*",
      durationSeconds: duration,
      maxUses: limit,
      client,
    });
    requests.inc({ status: 200 });
    deps.counters?.minted("gettoken");
    const r = renderToken(record.token, formatRaw as TokenFormat);
    return c.body(r.body, 200, {
      ...NO_STORE,
      "Content-Type": r.contentType,
    });
  });

  return app;
}
