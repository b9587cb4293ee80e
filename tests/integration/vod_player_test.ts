/**
 * VOD in a real browser (Debian's Chromium through playwright-core): a `<video>` element plays
 * `.mp4?start=` at once from the seek point, and hls.js plays a VOD playlist and seeks in it.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { hasBinary, runPeer } from "../_helpers/peers.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const haveFfmpeg = await hasBinary("ffmpeg");
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
    "vod player: Chromium's <video> plays .mp4?start= from the seek point; hls.js plays .m3u8 and seeks; the player page lists and plays the library",
  ignore: !haveChromium || !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-vodplay-" });
    const made = await runPeer("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=320x240:rate=25",
      "-f",
      "lavfi",
      "-i",
      "sine=sample_rate=44100",
      "-t",
      "30",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-g",
      "50",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-b:a",
      "64k",
      `${dir}/film.mp4`, // moov at the end
    ], 60_000);
    assert.equal(made.code, 0, made.stderr);
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        vod: { libraries: [{ path: dir, prefix: "/vod/" }] },
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const base = `http://127.0.0.1:${origin.httpPort}`;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ARGS,
      timeout: 30_000,
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/api/vod`); // a page of the origin, so scripts load same-origin
      // Progressive MP4 from 20 s: the element's duration is what is left (10 s, from the
      // keyframe at 20 s), and it plays at once.
      await page.setContent(
        `<video id="v" muted autoplay src="${base}/vod/film.mp4?start=21"></video>`,
      );
      await page.waitForFunction(
        "(() => { const v = document.getElementById('v'); return v.currentTime > 1 && !v.paused; })()",
        undefined,
        { timeout: 30_000 },
      );
      const duration = await page.evaluate(
        "document.getElementById('v').duration",
      ) as number;
      assert.ok(Math.abs(duration - 10) < 0.2, `duration ${duration}`);
      // hls.js on the VOD playlist, then a seek to 25 s plays on from there.
      await page.setContent(`<video id="h" muted></video>`);
      await page.addScriptTag({ url: `${base}/assets/hls.min.js` });
      await page.evaluate(`(() => {
        const v = document.getElementById('h');
        const hls = new Hls();
        hls.loadSource('${base}/vod/film.m3u8');
        hls.attachMedia(v);
        hls.on(Hls.Events.MANIFEST_PARSED, () => v.play());
        window.hlsErrors = [];
        hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.hlsErrors.push(d.details); });
      })()`);
      await page.waitForFunction(
        "document.getElementById('h').currentTime > 1",
        undefined,
        { timeout: 30_000 },
      );
      const hlsDuration = await page.evaluate(
        "document.getElementById('h').duration",
      ) as number;
      assert.ok(
        Math.abs(hlsDuration - 30) < 0.2,
        `hls duration ${hlsDuration}`,
      );
      await page.evaluate("document.getElementById('h').currentTime = 25");
      await page.waitForFunction(
        "document.getElementById('h').currentTime > 26",
        undefined,
        { timeout: 30_000 },
      );
      assert.deepEqual(await page.evaluate("window.hlsErrors"), []);
      // The player page lists the library beside the live streams and plays a file from it.
      await page.goto(`${base}/`);
      await page.click('#library li[data-key="vod:film.mp4"]', {
        timeout: 15_000,
      });
      await page.waitForFunction(
        "document.body.dataset.status === 'playing hls'",
        undefined,
        {
          timeout: 30_000,
        },
      );
      await page.waitForFunction(
        "Number(document.body.dataset.time ?? 0) > 1",
        undefined,
        {
          timeout: 30_000,
        },
      );
    } finally {
      await browser.close();
      await origin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
