/**
 * The console page (`web/console.html`) served at `/` of the control port, and the plain-text
 * endpoint list served at `/api` and shown in the page's footer.
 *
 * @module
 */

import { ControlError, ControlErrorCode } from "./errors.ts";

/** Every endpoint of the control port, as plain text. */
export const ENDPOINTS_TEXT = `Meridian control

GET    /                          web console (admin token kept in the tab's sessionStorage)
GET    /api                       this list
GET    /gettoken?token={service password}&app={app}&duration={seconds}&limit={uses}&format={xml|json}
GET    /admin/tokens              (every /admin route: Authorization: Bearer {admin token})
POST   /admin/tokens              {"app":"live","duration":3600,"limit":0}
DELETE /admin/tokens/{token}
POST   /admin/purge               {"urls":[],"prefixes":[],"streams":[],"all":false}
POST   /admin/prefetch            501: prefetch on each edge's own /admin/prefetch
GET    /admin/edges
POST   /admin/edges/{id}/drain    DELETE to undrain
GET    /admin/streams
GET    /admin/config              secrets redacted
GET    /healthz
GET    /metrics
`;

const PAGE_URL = new URL("../web/console.html", import.meta.url);
const ENDPOINTS_MARK = "<!-- ENDPOINTS -->";

let page: Promise<string> | undefined;

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  );
}

/**
 * The console page with the endpoint list in its footer, read once per process.
 *
 * @throws {ControlError} `CONTROL_CONSOLE_PAGE` when `web/console.html` cannot be read (a failed read is retried next time).
 */
export function loadConsolePage(): Promise<string> {
  page ??= Deno.readTextFile(PAGE_URL).then(
    (html) => html.replace(ENDPOINTS_MARK, escapeHtml(ENDPOINTS_TEXT)),
    (cause) => {
      page = undefined;
      throw new ControlError(
        ControlErrorCode.ConsolePage,
        `Cannot read console page: ${PAGE_URL.pathname}`,
        { cause },
      );
    },
  );
  return page;
}
