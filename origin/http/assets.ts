/**
 * The origin's web pages and their files: the stream list (`/`), the player page
 * (`/play/...`, web/play.html), the scripts (hls.js and mpegts.js from npm, served by us:
 * never from a public CDN; the player's own script), its style sheet and the message
 * catalogues (web/i18n/). Read once at start-up.
 *
 * @module
 */

import { OriginError, OriginErrorCode } from "../errors.ts";

/** A file served at `/assets/{name}`. */
export interface WebAsset {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly contentType: string;
}

/** Page and file bytes served at `/`, `/play/…` and `/assets/{file}`. */
export interface WebAssets {
  page(): string;
  script(file: string): Uint8Array<ArrayBuffer> | undefined;
  /** Any file below `/assets/` (`play.css`, `i18n/zh.json`…). */
  asset?(name: string): WebAsset | undefined;
  /** The player page's template (`{{kind}}`… filled per request, escaped). */
  playPage?(): string;
}

const ROOT = new URL("../../", import.meta.url);
const SCRIPTS: Readonly<Record<string, string>> = {
  "hls.min.js": "node_modules/hls.js/dist/hls.min.js",
  "mpegts.js": "node_modules/mpegts.js/dist/mpegts.js",
};
/** Our own files, by the name they are served under. */
const FILES: Readonly<Record<string, readonly [string, string]>> = {
  "play.js": ["web/play.js", "text/javascript; charset=utf-8"],
  "i18n.js": ["web/i18n.js", "text/javascript; charset=utf-8"],
  "play.css": ["web/play.css", "text/css; charset=utf-8"],
  "i18n/en.json": ["web/i18n/en.json", "application/json"],
  "i18n/zh.json": ["web/i18n/zh.json", "application/json"],
};

async function readText(path: string, what: string): Promise<string> {
  const url = new URL(path, ROOT);
  try {
    return await Deno.readTextFile(url);
  } catch (cause) {
    throw new OriginError(
      OriginErrorCode.Assets,
      `Cannot load ${what}: ${url.pathname}`,
      { cause },
    );
  }
}

/**
 * Loads the pages and files from the project tree.
 *
 * @throws {OriginError} `ORIGIN_ASSETS` when a page, a script or a file is missing (run
 *   `deno install`).
 */
export async function loadWebAssets(): Promise<WebAssets> {
  const page = await readText("web/player.html", "player page");
  const play = await readText("web/play.html", "player page template");
  const files = new Map<string, WebAsset>();
  for (const [name, path] of Object.entries(SCRIPTS)) {
    try {
      files.set(name, {
        body: await Deno.readFile(new URL(path, ROOT)),
        contentType: "text/javascript; charset=utf-8",
      });
    } catch (cause) {
      throw new OriginError(
        OriginErrorCode.Assets,
        `Cannot load player script ${path}: run 'deno install' first`,
        { cause },
      );
    }
  }
  for (const [name, [path, contentType]] of Object.entries(FILES)) {
    try {
      files.set(name, {
        body: await Deno.readFile(new URL(path, ROOT)),
        contentType,
      });
    } catch (cause) {
      throw new OriginError(
        OriginErrorCode.Assets,
        `Cannot load player file ${path}`,
        { cause },
      );
    }
  }
  return {
    page: () => page,
    script: (file) =>
      file in SCRIPTS || file.endsWith(".js")
        ? files.get(file)?.body
        : undefined,
    asset: (name) => files.get(name),
    playPage: () => play,
  };
}
