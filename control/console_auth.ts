/**
 * Who may call the control port's admin API, and the console's sign-in:
 *
 * - `Authorization: Bearer {admin token}` (scripts): the admin role, no cookie, no CSRF token
 *   (a browser never adds that header on its own, so it cannot be forged cross-site).
 * - The console's session cookie (./console_session.ts): the operator's role; a request that
 *   changes something (any method but GET and HEAD) must carry the session's CSRF token in
 *   `X-CSRF-Token`, and the `viewer` role may change nothing (403).
 *
 * Routes: `POST /console/login` (`{"token"}` or `{"name","password"}`, JSON only: a cross-site
 * form cannot send it) → the cookie and `{name, role, csrf, expiresAt}`; `GET /console/session`
 * → the same for the cookie the browser holds; `POST /console/logout`. Wrong secrets count
 * toward the same per-client lockout as the admin gate and the token service.
 *
 * @module
 */

import { type Context, Hono, type MiddlewareHandler } from "hono";
import { constantTimeEqual } from "../access/mod.ts";
import type { Logger } from "../log/mod.ts";
import { createBearerAuth } from "../net/http/admin_gate.ts";
import type { FailureLockout } from "../net/http/lockout.ts";
import {
  clientAddress,
  NO_STORE,
  readJsonBody,
  textError,
} from "../net/http/respond.ts";
import {
  type ConsoleSession,
  type ConsoleSessions,
  CSRF_HEADER,
  SESSION_COOKIE,
} from "./console_session.ts";
import {
  authenticateOperator,
  type OperatorAccount,
  type OperatorRole,
} from "./operators.ts";

/** Who a request comes from. */
export interface Principal {
  /** Operator name; `admin` for the admin token. */
  readonly name: string;
  readonly role: OperatorRole;
  /** The bearer token (a script) or a console session. */
  readonly via: "token" | "session";
}

/** Hono variables of the admin routes: the principal the gate let through. */
export type ControlEnv = { Variables: { principal: Principal } };

/** What the gate and the sign-in routes need. */
export interface ConsoleAuthOptions {
  readonly adminToken: string;
  readonly operators: readonly OperatorAccount[];
  readonly sessions: ConsoleSessions;
  readonly lockout: FailureLockout;
  readonly log: Logger;
  /** Mark the cookie `Secure` even over plain HTTP (behind a TLS proxy). */
  readonly secureCookies: boolean;
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);
/** Longest login body (bytes). */
const MAX_LOGIN_BODY_BYTES = 4096;

/** The value of one cookie of the request (RFC 6265 §5.4 `Cookie` header). */
export function readCookie(c: Context, name: string): string | undefined {
  const header = c.req.header("Cookie") ?? "";
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

function isTls(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:";
}

/** `Set-Cookie` for a session (or, with `maxAge` 0, its removal). */
function sessionCookie(
  c: Context,
  value: string,
  maxAgeSeconds: number,
  secureAlways: boolean,
): string {
  const attrs = [
    `${SESSION_COOKIE}=${value}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Strict",
    `Max-Age=${maxAgeSeconds}`,
  ];
  if (secureAlways || isTls(c)) attrs.push("Secure");
  return attrs.join("; ");
}

/**
 * A cross-site request a browser marks as such (Fetch Metadata, `Sec-Fetch-Site`): refused
 * before any secret is looked at. Absent (old browsers, scripts): allowed, the CSRF token and
 * SameSite cookie still hold.
 */
function crossSite(c: Context): boolean {
  const site = c.req.header("Sec-Fetch-Site");
  return site !== undefined && site !== "same-origin" && site !== "none";
}

/**
 * The admin API's gate for bearer tokens and console sessions.
 *
 * @example
 * ```ts ignore
 * app.use("/admin/*", createControlGate(options));
 * ```
 */
export function createControlGate(
  options: ConsoleAuthOptions,
): MiddlewareHandler<ControlEnv> {
  const bearer = createBearerAuth({
    adminToken: options.adminToken,
    lockout: options.lockout,
    log: options.log,
  });
  const admin: Principal = { name: "admin", role: "admin", via: "token" };
  return async (c, next) => {
    const session = c.req.header("Authorization") === undefined
      ? await options.sessions.read(readCookie(c, SESSION_COOKIE))
      : undefined;
    if (!session) {
      // A script's bearer token, or no valid credential at all: the bearer gate answers
      // (401 with its challenge, 429 while the client is locked out).
      return await bearer(c, async () => {
        c.set("principal", admin);
        await next();
      });
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      if (
        crossSite(c) ||
        !await options.sessions.checkCsrf(session, c.req.header(CSRF_HEADER))
      ) {
        return textError(
          c,
          403,
          `Forbidden: missing or wrong ${CSRF_HEADER} for this session`,
        );
      }
      if (session.role !== "admin") {
        return textError(
          c,
          403,
          "Forbidden: the viewer role cannot change anything",
        );
      }
    }
    c.set("principal", {
      name: session.name,
      role: session.role,
      via: "session",
    });
    await next();
  };
}

/** The sign-in routes (absolute paths: mount with `app.route("/", …)`). */
export function createConsoleAuthRoutes(options: ConsoleAuthOptions): Hono {
  const { sessions, lockout, log } = options;
  const app = new Hono();
  const answer = async (c: Context, s: ConsoleSession, status: 200 = 200) =>
    c.json(
      {
        name: s.name,
        role: s.role,
        csrf: await sessions.csrfOf(s),
        expiresAt: new Date(s.expiresAtMs).toISOString(),
      },
      status,
      NO_STORE,
    );

  app.post("/console/login", async (c) => {
    if (crossSite(c)) return textError(c, 403, "Forbidden: cross-site sign-in");
    if (!/^application\/json\b/i.test(c.req.header("Content-Type") ?? "")) {
      return textError(c, 415, "Unsupported: sign-in takes application/json");
    }
    const client = clientAddress(c);
    const body = await readJsonBody(c, MAX_LOGIN_BODY_BYTES);
    if (!body.ok) return body.response;
    const b = (body.value ?? {}) as Record<string, unknown>;
    let who: { name: string; role: OperatorRole } | undefined;
    if (typeof b.token === "string") {
      if (constantTimeEqual(b.token, options.adminToken)) {
        who = { name: "admin", role: "admin" };
      }
    } else if (typeof b.name === "string" && typeof b.password === "string") {
      const op = await authenticateOperator(
        options.operators,
        b.name,
        b.password,
      );
      if (op) who = { name: op.name, role: op.role };
    } else {
      return textError(
        c,
        400,
        'Invalid sign-in: expected {"token"} or {"name","password"}',
      );
    }
    const verdict = lockout.judge(client, who !== undefined);
    if (verdict.kind === "locked") {
      const after = verdict.retryAfterSeconds;
      return textError(
        c,
        429,
        `Too many wrong sign-ins: retry in ${after} seconds`,
        { "Retry-After": String(after) },
      );
    }
    if (!who) {
      if (verdict.kind === "wrong" && verdict.lockedNow) {
        log.warn("client locked out after wrong console sign-ins", { client });
      }
      return textError(c, 401, "Unauthorized: wrong token, name or password");
    }
    const issued = await sessions.issue(who.name, who.role);
    log.info("console sign-in", { operator: who.name, role: who.role, client });
    c.header(
      "Set-Cookie",
      sessionCookie(
        c,
        issued.cookie,
        sessions.sessionSeconds,
        options.secureCookies,
      ),
    );
    return await answer(c, issued.session);
  });

  app.get("/console/session", async (c) => {
    const s = await sessions.read(readCookie(c, SESSION_COOKIE));
    if (!s) return textError(c, 401, "Unauthorized: not signed in");
    return await answer(c, s);
  });

  app.post("/console/logout", async (c) => {
    const s = await sessions.read(readCookie(c, SESSION_COOKIE));
    if (s) {
      if (!await sessions.checkCsrf(s, c.req.header(CSRF_HEADER))) {
        return textError(
          c,
          403,
          `Forbidden: missing or wrong ${CSRF_HEADER} for this session`,
        );
      }
      sessions.revoke(s);
      log.info("console sign-out", { operator: s.name });
    }
    c.header("Set-Cookie", sessionCookie(c, "", 0, options.secureCookies));
    return c.body(null, 204, NO_STORE);
  });
  return app;
}
