/**
 * Time-shift in a real browser: headless Chromium opens the player page on the demo channel,
 * whose scrub bar comes from `/{app}/{stream}/programs`; picking the recorded session plays its
 * time-shift playlist with hls.js, and a seek inside the window lands where it was asked (by
 * the EXT-X-PROGRAM-DATE-TIME hls.js reports), then plays on.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { waitFor } from "../_helpers/peers.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const demo = new URL("../../media/demo.flv", import.meta.url).pathname;
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
  name:
    "player time-shift: Chromium's scrub bar lists the recorded session; hls.js plays its time-shift playlist and seeks inside the window",
  ignore: !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-player-ts-" });
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [{ app: "live", stream: "demo", file: demo }],
        hls: { targetDurationSeconds: 2 },
        defaultApp: { dvr: { windowSeconds: 120 } },
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
      dataDir: dir,
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ARGS,
      timeout: 30_000,
    });
    try {
      // Ten seconds kept: a window to seek in.
      const session = await waitFor(
        "10 s in the window",
        async () => {
          const r = await fetch(`${http}/live/demo/programs`);
          if (!r.ok) return (await r.body?.cancel(), undefined);
          const s = (await r.json()).programs.find((p: { kind: string }) =>
            p.kind === "session"
          );
          return s && s.recorded.endUnix - s.recorded.startUnix >= 10
            ? s
            : undefined;
        },
        40_000,
        250,
      );
      const page = await browser.newPage();
      await page.goto(`${http}/?stream=live/demo`);
      await page.waitForSelector("#timeshift.on", { timeout: 15_000 });
      await page.waitForSelector('#programs li[data-kind="session"]', {
        timeout: 15_000,
      });
      await page.click('#programs li[data-kind="session"]');
      await page.waitForFunction(
        "document.body.dataset.timeshift !== '' && document.body.dataset.status === 'playing hls'",
        undefined,
        { timeout: 30_000 },
      );
      const url = await page.evaluate(
        "document.body.dataset.timeshift",
      ) as string;
      assert.match(url, /^\/live\/demo\.m3u8\?start=\d+/);
      // Seek 6 s into the time-shift: hls.js fetches the kept segments there and plays on.
      await page.evaluate("document.getElementById('video').currentTime = 6");
      await page.waitForFunction(
        "(() => { const v = document.getElementById('video'); return !v.seeking && v.currentTime > 6.5 && v.currentTime < 12; })()",
        undefined,
        { timeout: 30_000 },
      );
      const t1 = await page.evaluate(
        "document.getElementById('video').currentTime",
      ) as number;
      await page.waitForFunction(
        `document.getElementById('video').currentTime > ${t1 + 1}`,
        undefined,
        { timeout: 30_000 },
      );
      // Where it plays, in wall-clock time: the session's start plus about where we sought.
      const pdt = Number(await page.evaluate("document.body.dataset.pdt"));
      const at = pdt / 1000 - session.recorded.startUnix;
      assert.ok(
        at > 5 && at < 14,
        `playing ${at.toFixed(1)} s into the session`,
      );
      // Back to live.
      await page.click("#golive");
      await page.waitForFunction(
        "document.body.dataset.timeshift === '' && document.body.dataset.status === 'playing hls'",
        undefined,
        { timeout: 30_000 },
      );
    } finally {
      await browser.close();
      await origin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
