/**
 * The player page and its scripts (hls.js and mpegts.js from npm, served by us: never from a
 * public CDN). Read once at start-up.
 *
 * @module
 */

import { OriginError, OriginErrorCode } from "../errors.ts";

/** Page and script bytes served at `/` and `/assets/{file}`. */
export interface WebAssets {
  page(): string;
  script(file: string): Uint8Array<ArrayBuffer> | undefined;
}

const ROOT = new URL("../../", import.meta.url);
const SCRIPTS: Readonly<Record<string, string>> = {
  "hls.min.js": "node_modules/hls.js/dist/hls.min.js",
  "mpegts.js": "node_modules/mpegts.js/dist/mpegts.js",
};

/**
 * Loads the player page and scripts from the project tree.
 *
 * @throws {OriginError} `ORIGIN_ASSETS` when the page or a script is missing (run
 *   `deno install`).
 */
export async function loadWebAssets(): Promise<WebAssets> {
  const pageUrl = new URL("web/player.html", ROOT);
  let page: string;
  try {
    page = await Deno.readTextFile(pageUrl);
  } catch (cause) {
    throw new OriginError(
      OriginErrorCode.Assets,
      `Cannot load player page: ${pageUrl.pathname}`,
      { cause },
    );
  }
  const scripts = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const [name, path] of Object.entries(SCRIPTS)) {
    try {
      scripts.set(name, await Deno.readFile(new URL(path, ROOT)));
    } catch (cause) {
      throw new OriginError(
        OriginErrorCode.Assets,
        `Cannot load player script ${path}: run 'deno install' first`,
        { cause },
      );
    }
  }
  return { page: () => page, script: (file) => scripts.get(file) };
}
