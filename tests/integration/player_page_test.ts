/**
 * The player page in a real browser: headless Chromium (Debian's) driven by playwright-core opens
 * the origin's `/`, which lists the demo channel and plays it over HLS (hls.js) and HTTP-FLV
 * (mpegts.js), both served locally.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const demo = new URL("../../media/demo.flv", import.meta.url).pathname;

// Flags from the machine notes: no sandbox as root, and no background networking (the network is
// closed; Chromium would otherwise retry its own services).
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

Deno.test({
  name: "player page: Chromium plays live/demo over HLS and HTTP-FLV",
  ignore: !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [{ app: "live", stream: "demo", file: demo }],
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ARGS,
      timeout: 30_000,
    });
    const external: string[] = [];
    try {
      const page = await browser.newPage();
      // Every request the page makes stays on our origin (scripts are served locally, no CDN).
      page.on("request", (r) => {
        const url = r.url();
        if (
          /^(https?|wss?):/.test(url) &&
          !url.startsWith(`http://127.0.0.1:${origin.httpPort}/`)
        ) external.push(url);
      });
      await page.goto(`http://127.0.0.1:${origin.httpPort}/`);
      await page.waitForSelector('#streams li[data-key="live/demo"]', {
        timeout: 15_000,
      });
      // HLS: the stream plays and its clock advances.
      await page.waitForFunction(
        "document.body.dataset.status === 'playing hls'",
        undefined,
        { timeout: 30_000 },
      );
      await page.waitForFunction(
        "Number(document.body.dataset.time ?? 0) > 1.5",
        undefined,
        { timeout: 30_000 },
      );
      // HTTP-FLV through mpegts.js.
      await page.click("#flv");
      await page.waitForFunction(
        "document.body.dataset.status === 'playing flv'",
        undefined,
        { timeout: 30_000 },
      );
      const t0 = await page.evaluate(
        "document.getElementById('video').currentTime",
      ) as number;
      await page.waitForFunction(
        `document.getElementById('video').currentTime > ${t0 + 1}`,
        undefined,
        { timeout: 30_000 },
      );
      assert.deepEqual(external, []);
    } finally {
      await browser.close();
      await origin.close();
    }
  },
});
