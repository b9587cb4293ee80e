/**
 * The web console's files (web/console/: the page, its script and style; web/i18n.js and
 * web/i18n/*.json, shared with the player pages; uPlot from npm, served by us, never from a
 * CDN), served at `/` and `/console/…` of the control port, and the plain-text endpoint list
 * served at `/api` and shown in the page's footer.
 *
 * @module
 */

import { ControlError, ControlErrorCode } from "./errors.ts";

/** Every endpoint of the control port, as plain text. */
export const ENDPOINTS_TEXT = `Meridian control

GET    /                          web console (sign in with the admin token or an operator account)
GET    /api                       this list
GET    /gettoken?token={service password}&app={app}&duration={seconds}&limit={uses}&format={xml|json}
POST   /console/login             {"token"} or {"name","password"} -> session cookie + CSRF token
GET    /console/session           POST /console/logout
GET    /admin/tokens              (every /admin route: Authorization: Bearer {admin token},
                                   or the console's session cookie + X-CSRF-Token)
POST   /admin/tokens              {"app":"live","duration":3600,"limit":0}
DELETE /admin/tokens/{token}
POST   /admin/purge               {"urls":[],"prefixes":[],"streams":[],"all":false}
POST   /admin/prefetch            {"urls":["/live/demo.m3u8"]}: every edge warms them
GET    /admin/edges
POST   /admin/edges/{id}/drain    DELETE to undrain
GET    /admin/overview            nodes and live numbers
GET    /admin/streams
POST   /admin/streams/{app}/{stream}/kick
GET    /admin/recordings          POST {"app","stream","action":"start|stop"}
POST   /admin/clips               GET|DELETE /admin/clips/{id}
GET    /admin/origins
GET    /admin/vod                 the library; GET /admin/vod/{path}[?thumb=SECONDS]
PUT    /admin/vod/{path}          upload (Content-Range chunks); POST {"action":"move","to"}; DELETE
GET    /admin/programs/{app}/{stream}
GET    /admin/scheduler           the scheduler's key figures
GET    /admin/config              secrets redacted; PUT /admin/config/{section} validates and applies
PUT    /admin/apps/{app}/publish-keys   {"keys":[...]}
GET    /healthz
GET    /metrics
`;

/** A file of the console. */
export interface ConsoleFile {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly contentType: string;
}

const ROOT = new URL("../", import.meta.url);
const ENDPOINTS_MARK = "<!-- ENDPOINTS -->";
const JS = "text/javascript; charset=utf-8";
/** What `/console/{name}` serves, from where. */
const FILES: Readonly<Record<string, readonly [string, string]>> = {
  "app.js": ["web/console/app.js", JS],
  "app.css": ["web/console/app.css", "text/css; charset=utf-8"],
  "i18n.js": ["web/i18n.js", JS],
  "i18n/en.json": ["web/i18n/en.json", "application/json"],
  "i18n/zh.json": ["web/i18n/zh.json", "application/json"],
  "vendor/uPlot.iife.min.js": ["node_modules/uplot/dist/uPlot.iife.min.js", JS],
  "vendor/uPlot.min.css": [
    "node_modules/uplot/dist/uPlot.min.css",
    "text/css; charset=utf-8",
  ],
};

/** The console's files, loaded once. */
export interface ConsoleFiles {
  /** The page, the endpoint list in its footer. */
  readonly page: string;
  file(name: string): ConsoleFile | undefined;
}

let loaded: Promise<ConsoleFiles> | undefined;

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  );
}

/**
 * The console's page and files, read once per process (a failed read is retried next time).
 *
 * @throws {ControlError} `CONTROL_CONSOLE_PAGE` when a file cannot be read (uPlot: run
 *   `deno install`).
 */
export function loadConsoleFiles(): Promise<ConsoleFiles> {
  loaded ??= (async () => {
    const html = await Deno.readTextFile(
      new URL("web/console/index.html", ROOT),
    );
    const files = new Map<string, ConsoleFile>();
    for (const [name, [path, contentType]] of Object.entries(FILES)) {
      files.set(name, {
        body: await Deno.readFile(new URL(path, ROOT)),
        contentType,
      });
    }
    return {
      page: html.replace(ENDPOINTS_MARK, escapeHtml(ENDPOINTS_TEXT)),
      file: (name: string) => files.get(name),
    };
  })().catch((cause) => {
    loaded = undefined;
    throw new ControlError(
      ControlErrorCode.ConsolePage,
      "Cannot read the console's files: web/console/ and node_modules/uplot (run 'deno install')",
      { cause },
    );
  });
  return loaded;
}

/** The console page with the endpoint list in its footer (kept for callers of the old API). */
export async function loadConsolePage(): Promise<string> {
  return (await loadConsoleFiles()).page;
}

/**
 * The console page's Content-Security-Policy: scripts and styles from this port only (no
 * inline code, no eval), requests to this port only, images from here (thumbnails come
 * through control), frames only of the origins' and edges' player pages (the preview), and
 * no framing of the console itself (it holds a session).
 */
export function consoleCsp(frameOrigins: readonly string[]): string {
  const frames = frameOrigins.length ? frameOrigins.join(" ") : "'none'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data: blob:",
    `frame-src ${frames}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
