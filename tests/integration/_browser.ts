/**
 * Headless Chromium for the page tests (Debian's `/usr/bin/chromium` through playwright-core):
 * one browser per test file, waits that poll the page with a deadline (the pages run under a
 * strict CSP, so no `waitForFunction` strings, which need eval), a guard that records CSP
 * violations, page errors and requests leaving the test's hosts, the translation check every
 * page gets in Chinese, and screenshots written to one artifacts folder per run (printed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = await Deno.stat(CHROMIUM).then(
  () => true,
  () => false,
);

// No sandbox as root, no background networking (the network is closed; Chromium would retry
// its own services), autoplay without a gesture (the players start muted anyway).
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

/** Launches the one browser of a test file. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ARGS,
    timeout: 30_000,
    // Test files share one process under --parallel, and the access-log test sends it
    // SIGHUP (log rotation): Playwright would otherwise close the browser on it.
    handleSIGHUP: false,
  });
}

/**
 * Evaluates `expression` in the page until `accept` takes its value, or fails after
 * `timeoutMs` naming `what` and the last value.
 */
export async function pollPage<T>(
  page: Page,
  what: string,
  expression: string,
  accept: (value: T) => boolean,
  timeoutMs = 20_000,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await page.evaluate(expression) as T;
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}: last ${
      JSON.stringify(last)
    }`,
  );
}

/** Reads `document.body.dataset[key]` as a number (NaN when absent). */
export function bodyNumber(key: string): string {
  return `Number(document.body.dataset.${key} ?? NaN)`;
}

/** What went wrong on a page: CSP violations, uncaught errors, requests to other hosts. */
export interface PageGuard {
  readonly problems: string[];
  readonly external: string[];
}

/** Watches a page for CSP violations, page errors and requests outside `allowed` origins. */
export function guardPage(page: Page, allowed: readonly string[]): PageGuard {
  const guard: PageGuard = { problems: [], external: [] };
  page.on("pageerror", (e) => guard.problems.push(`pageerror: ${e}`));
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) {
      guard.problems.push(`csp: ${m.text()}`);
    }
  });
  page.on("request", (r) => {
    const url = r.url();
    if (
      /^(https?|wss?):/.test(url) && !allowed.some((a) => url.startsWith(a))
    ) {
      guard.external.push(url);
    }
  });
  return guard;
}

let artifacts: Promise<string> | undefined;

/** The run's screenshot folder (made once, its path printed). */
export function artifactsDir(): Promise<string> {
  artifacts ??= (async () => {
    const dir = Deno.env.get("MERIDIAN_ARTIFACTS") ??
      await Deno.makeTempDir({ prefix: "meridian_screens_" });
    await Deno.mkdir(dir, { recursive: true });
    console.log(`screenshots: ${dir}`);
    return dir;
  })();
  return artifacts;
}

/** Writes a full-page screenshot `{name}.png` to the artifacts folder. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = `${await artifactsDir()}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Fails when the page scrolls sideways at its viewport's width. */
export async function assertNoHorizontalScroll(
  page: Page,
  what: string,
): Promise<void> {
  const [scroll, client] = await page.evaluate(
    "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]",
  ) as [number, number];
  assert.ok(
    scroll <= client,
    `${what} scrolls sideways: ${scroll} px wide in a ${client} px viewport`,
  );
}

/**
 * Words that stay as they are in Chinese: product and protocol names, units. Anything else in
 * Latin letters outside a `translate="no"` element (data: names, URLs, codecs) is an
 * untranslated string.
 */
const LATIN_ALLOWED = new Set([
  "Meridian",
  "HLS",
  "WebRTC",
  "HTTP",
  "FLV",
  "RTMP",
  "MP4",
  "DVR",
  "CPU",
  "RSS",
  "DNS",
  "URL",
  "API",
  "ID",
  "TLS",
  "YAML",
  "JSON",
  "English",
  "CDN",
  "IP",
  "qps",
  "bit",
  "kbit",
  "Mbit",
  "Gbit",
  "KB",
  "MB",
  "GB",
  "TB",
  "fps",
  "p",
]);

/**
 * Checks a page shown in Chinese: the catalogue lookup missed no key (the page records its
 * misses in `data-i18n-misses`), and no visible text outside `translate="no"` holds an English
 * word (a string that never went through the lookup). Returns the offending texts for the
 * message.
 */
export async function assertChinese(page: Page, what: string): Promise<void> {
  const misses = await page.evaluate(
    "document.documentElement.dataset.i18nMisses ?? '[]'",
  ) as string;
  assert.deepEqual(JSON.parse(misses), [], `${what}: catalogue misses`);
  assert.equal(
    await page.evaluate("document.documentElement.lang"),
    "zh-CN",
    `${what}: lang`,
  );
  const texts = await page.evaluate(`(() => {
    const out = [];
    const walk = (n) => {
      if (n.nodeType === 1) {
        if (n.getAttribute("translate") === "no") return;
        if (["SCRIPT", "STYLE", "CODE", "PRE", "OPTION", "TEXTAREA"].includes(n.tagName)) return;
        if (n.hidden || n.closest("[hidden]")) return;
        const cs = getComputedStyle(n);
        if (cs.display === "none" || cs.visibility === "hidden") return;
        for (const a of ["placeholder", "title", "aria-label"]) {
          if (n.hasAttribute(a)) out.push(n.getAttribute(a));
        }
      }
      if (n.nodeType === 3) out.push(n.textContent);
      for (const c of n.childNodes) walk(c);
    };
    walk(document.body);
    return out;
  })()`) as string[];
  const bad = texts.filter((t) => {
    const words = t.match(/[A-Za-z]{2,}/g) ?? [];
    return words.some((w) => !LATIN_ALLOWED.has(w));
  });
  assert.deepEqual(bad, [], `${what}: untranslated text`);
}
