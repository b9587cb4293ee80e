/**
 * Adaptive bitrate in a real player: hls.js in Chromium plays a transcoded stream's master
 * playlist, switches to the lowest rendition when the page's bandwidth is throttled (Chrome
 * DevTools Protocol network emulation) and back up when it is not.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { hasBinary, waitFor } from "../_helpers/peers.ts";
import {
  publishSource,
  renditionsOf,
  startTranscodingOrigin,
} from "./_transcode.ts";

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
/** The throttle: between the 90p rendition (~0.15 Mbit/s) and the others (0.3+ Mbit/s). */
const THROTTLED_BPS = 220_000;

Deno.test({
  name:
    "transcode player: hls.js in Chromium plays the master from its top rendition, switches down to the lowest when throttled (CDP) and back up when not",
  ignore: !haveChromium || !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, http } = await startTranscodingOrigin({
      apps: [{ name: "live", start: "always", profiles: ["144p", "90p"] }],
    });
    const pub = publishSource(
      `rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`,
      90,
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ARGS,
      timeout: 30_000,
    });
    try {
      await waitFor("both renditions running", async () => {
        const r = await renditionsOf(http, "cam");
        return r.length === 2 && r.every((x) => x.state === "running");
      }, 20_000);
      const page = await browser.newPage();
      await page.goto(`${http}/api/streams`); // same origin as the scripts
      await page.setContent(`<video id="v" muted></video>`);
      await page.addScriptTag({ url: `${http}/assets/hls.min.js` });
      await page.evaluate(`(() => {
        const v = document.getElementById('v');
        // Faster estimates than the defaults, so the test takes seconds, not a minute.
        const hls = new Hls({ abrEwmaFastLive: 1, abrEwmaSlowLive: 2, liveSyncDurationCount: 2 });
        window.hls = hls;
        window.switches = [];
        window.fatal = [];
        hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => window.switches.push(hls.levels[d.level].height));
        hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.fatal.push(d.details); });
        hls.on(Hls.Events.MANIFEST_PARSED, () => v.play());
        hls.loadSource('${http}/live/cam.m3u8');
        hls.attachMedia(v);
      })()`);
      await page.waitForFunction(
        "document.getElementById('v').currentTime > 1",
        undefined,
        {
          timeout: 20_000,
        },
      );
      const heights = await page.evaluate(
        "window.hls.levels.map((l) => l.height)",
      ) as number[];
      // hls.js lists the video variants by rate (the audio-only one it drops beside video).
      assert.deepEqual([...heights].sort((a, b) => a - b), [90, 144, 180]);
      const top = Math.max(...heights);
      await page.waitForFunction(
        `window.hls.levels[window.hls.currentLevel]?.height === ${top}`,
        undefined,
        {
          timeout: 20_000,
        },
      );

      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 20,
        downloadThroughput: THROTTLED_BPS / 8,
        uploadThroughput: -1,
      });
      await page.waitForFunction("window.switches.includes(90)", undefined, {
        timeout: 30_000,
      });

      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      // Back up: a higher rendition than the throttled one (the top one on a quiet machine;
      // hls.js climbs a rung per estimate, which a loaded one may not finish in the time).
      await page.waitForFunction(
        "window.switches.slice(window.switches.indexOf(90)).some((h) => h > 90)",
        undefined,
        { timeout: 30_000 },
      );
      const t = await page.evaluate(
        "document.getElementById('v').currentTime",
      ) as number;
      await page.waitForFunction(
        `document.getElementById('v').currentTime > ${t + 1}`,
        undefined,
        {
          timeout: 10_000,
        },
      );
      assert.deepEqual(await page.evaluate("window.fatal"), []);
    } finally {
      await browser.close();
      await pub.stop();
      await origin.close();
    }
  },
});
