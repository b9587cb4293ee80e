/**
 * The player pages in headless Chromium, on an origin and through an edge (one browser for the
 * file): live over HLS and HTTP-FLV with the clock advancing, the protocol chosen per device,
 * a seek back in the live (DVR) window, the programme list, a token-protected stream played
 * with the page's `?token=`, VOD with trick-play thumbnails over the scrub bar, the resume
 * position kept in the browser and on the server (`?viewer=`: a new browser profile is
 * offered it and resumes there), a TV remote's arrow keys, phone and TV viewports without
 * sideways scrolling, and every page in Chinese with no catalogue miss. Screenshots of every
 * page in both languages go to the artifacts folder.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import type { EdgeHandle } from "../../edge/mod.ts";
import { KvStore } from "../../store/mod.ts";
import { hasBinary, runPeer } from "../_helpers/peers.ts";
import { edgeConfig, startTestEdge } from "../edge/_helpers/fixtures.ts";
import {
  assertChinese,
  assertNoHorizontalScroll,
  bodyNumber,
  guardPage,
  haveChromium,
  launchBrowser,
  pollPage,
  screenshot,
} from "./_browser.ts";

const haveFfmpeg = await hasBinary("ffmpeg");
const demo = new URL("../../media/demo.flv", import.meta.url).pathname;

interface World {
  readonly browser: Browser;
  readonly origin: OriginHandle;
  readonly edge: EdgeHandle;
  readonly store: KvStore;
  readonly originUrl: string;
  readonly edgeUrl: string;
}

async function withWorld(fn: (w: World) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian_play_" });
  const lib = `${dir}/lib`;
  await Deno.mkdir(`${lib}/films`, { recursive: true });
  const made = await runPeer("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x180:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=sample_rate=44100",
    "-t",
    "40",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    "25",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    "-b:a",
    "48k",
    `${lib}/films/影片 one.mp4`,
  ], 60_000);
  assert.equal(made.code, 0, made.stderr);
  // A second, smaller rendition for the quality menu.
  const small = await runPeer("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=160x90:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=sample_rate=44100",
    "-t",
    "40",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    "25",
    "-pix_fmt",
    "yuv420p",
    // The same codecs as the other rendition, as in any ABR ladder.
    "-c:a",
    "aac",
    "-b:a",
    "48k",
    `${lib}/films/small.mp4`,
  ], 60_000);
  assert.equal(small.code, 0, small.stderr);
  const store = await KvStore.open(`${dir}/m.kv`, { pollIntervalMs: 50 });
  const config = parseConfig({
    dataDir: `${dir}/data`,
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      hls: { windowSegments: 10 },
      virtualLive: [
        { app: "live", stream: "demo", file: demo },
        { app: "secure", stream: "demo", file: demo },
      ],
      apps: [{ name: "secure", access: "token" }],
      vod: {
        libraries: [{ path: lib, prefix: "/vod/" }],
        trickPlayIntervalSeconds: 4,
      },
    },
  });
  const origin = await startOrigin(config.origin, {
    log: silentLogger,
    metrics: new MetricsRegistry(),
    store,
    auth: config.auth,
    dataDir: `${dir}/data`,
  });
  const originUrl = `http://127.0.0.1:${origin.httpPort}`;
  const edge = await startTestEdge(edgeConfig([originUrl]), { store });
  const edgeUrl = `http://127.0.0.1:${edge.port}`;
  const browser = await launchBrowser();
  try {
    await fn({ browser, origin, edge, store, originUrl, edgeUrl });
  } finally {
    await browser.close();
    await edge.close();
    await origin.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function open(
  w: World,
  url: string,
  options: { viewport?: { width: number; height: number }; lang?: string } = {},
): Promise<{ page: Page; close: () => Promise<void>; problems: string[] }> {
  const context = await w.browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    locale: options.lang === "zh" ? "zh-CN" : "en-US",
  });
  const page = await context.newPage();
  const guard = guardPage(page, [w.originUrl, w.edgeUrl]);
  await page.goto(url);
  return {
    page,
    problems: guard.problems,
    close: async () => {
      assert.deepEqual(guard.external, [], "requests left the test's hosts");
      await context.close();
    },
  };
}

const advancing = async (page: Page, what: string, by = 1.5) => {
  const t0 = await pollPage<number>(
    page,
    `${what}: playing`,
    bodyNumber("time"),
    (t) => t > 0,
    30_000,
  );
  await pollPage<number>(
    page,
    `${what}: clock advancing`,
    bodyNumber("time"),
    (t) => t > t0 + by,
    30_000,
  );
};

Deno.test({
  name:
    "play pages: live HLS and HTTP-FLV on origin and edge, DVR seek, programmes, token, VOD trick-play and resume, TV keys, viewports, Chinese",
  ignore: !haveChromium || !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withWorld(async (w) => {
      // --- live, both protocols, on the origin and through the edge -------------------------
      for (
        const [host, url] of [["origin", w.originUrl], ["edge", w.edgeUrl]]
      ) {
        for (const proto of ["hls", "flv"]) {
          const p = await open(w, `${url}/play/live/demo?protocol=${proto}`);
          await p.page.waitForSelector(`body[data-status="playing ${proto}"]`, {
            timeout: 30_000,
          });
          await advancing(p.page, `${host} ${proto}`);
          assert.deepEqual(p.problems, [], `${host} ${proto}`);
          await p.close();
        }
      }

      // The device decides by default: Chromium has MSE, so live goes over HTTP-FLV.
      {
        const p = await open(w, `${w.edgeUrl}/play/live/demo`);
        await p.page.waitForSelector('body[data-status="playing flv"]', {
          timeout: 30_000,
        });
        // The programme list of the virtual-live channel.
        await p.page.waitForSelector("#programme-list li.now", {
          timeout: 10_000,
        });
        assert.match(
          await p.page.textContent("#programme-list") ?? "",
          /Now: demo\.flv/,
        );
        await screenshot(p.page, "play-live-en-1280");
        await p.close();
      }

      // --- the DVR window: seek back with the remote's left key, then back to live ------------
      {
        const p = await open(w, `${w.originUrl}/play/live/demo?protocol=hls`);
        await p.page.waitForSelector('body[data-status="playing hls"]', {
          timeout: 30_000,
        });
        // Wait for a window worth seeking in (the playlist keeps 10 segments of 2 s).
        await pollPage<string>(
          p.page,
          "a DVR window of 10 s",
          "document.body.dataset.window ?? ''",
          (wnd) => {
            const [a, b] = wnd.split("-").map(Number);
            return b! - a! >= 10;
          },
          40_000,
        );
        const before = await p.page.evaluate(
          "document.getElementById('video').currentTime",
        ) as number;
        await p.page.focus("#scrub");
        await p.page.keyboard.press("ArrowLeft");
        const after = await pollPage<number>(
          p.page,
          "the seek back",
          "document.getElementById('video').currentTime",
          (t) => t < before - 5,
          10_000,
        );
        const [start] = (await p.page.evaluate(
          "document.body.dataset.window",
        ) as string).split("-").map(Number);
        assert.ok(after >= start! - 0.5, `seeked inside the window: ${after}`);
        await p.page.waitForSelector("#golive:not([hidden])", {
          timeout: 5000,
        });
        // Playback goes on from the earlier point.
        await pollPage<number>(
          p.page,
          "playing after the seek",
          "document.getElementById('video').currentTime",
          (t) => t > after + 1,
          15_000,
        );
        await p.page.click("#golive");
        await pollPage<number>(
          p.page,
          "back at the live edge",
          "document.getElementById('video').currentTime",
          (t) => t > after + 4,
          10_000,
        );
        await p.close();
      }

      // --- a token-protected stream plays with the page's ?token= ---------------------------
      {
        const now = Date.now();
        await w.store.createToken({
          token: "PlayPageToken001",
          app: "secure",
          createdAtMs: now,
          expiresAtMs: now + 600_000,
          maxUses: 0,
        });
        const denied = await open(
          w,
          `${w.originUrl}/play/secure/demo?protocol=hls`,
        );
        await pollPage<string>(
          denied.page,
          "refused without a token",
          "document.body.dataset.status ?? ''",
          (s) => s.startsWith("error"),
          20_000,
        );
        await denied.close();
        for (const proto of ["hls", "flv"]) {
          const p = await open(
            w,
            `${w.edgeUrl}/play/secure/demo?protocol=${proto}&token=PlayPageToken001`,
          );
          await p.page.waitForSelector(`body[data-status="playing ${proto}"]`, {
            timeout: 30_000,
          });
          await advancing(p.page, `token ${proto}`, 1);
          await p.close();
        }
      }

      // --- VOD: trick-play thumbnails, resume on the server, TV keys ------------------------
      const vodPath = "/play/vod/films/%E5%BD%B1%E7%89%87%20one.mp4";
      {
        const p = await open(w, `${w.edgeUrl}${vodPath}?viewer=viewer-42`);
        await p.page.waitForSelector('body[data-status="playing hls"]', {
          timeout: 30_000,
        });
        await advancing(p.page, "vod");
        // The track arrives once made (202 meanwhile); hovering the bar shows a tile.
        const tiles = await pollPage<number>(
          p.page,
          "trick-play track",
          bodyNumber("trickplay"),
          (n) => n > 0,
          60_000,
        );
        assert.equal(tiles, 10); // 40 s, a tile every 4 s
        const bar = await p.page.$("#scrub");
        const box = (await bar!.boundingBox())!;
        await p.page.mouse.move(
          box.x + box.width * 0.55,
          box.y + box.height / 2,
        );
        await p.page.waitForSelector("#thumb:not([hidden])", { timeout: 5000 });
        // 55 % of 40 s = 22 s: the tile of the cue from 20 s, the sixth (x 800, row 0).
        assert.equal(
          await p.page.evaluate("document.body.dataset.thumb"),
          "800,0",
        );
        await screenshot(p.page, "play-vod-en-1280");
        // The remote: right twice on the scrub bar seeks 20 s on.
        await p.page.focus("#scrub");
        const t0 = await p.page.evaluate(bodyNumber("time")) as number;
        await p.page.keyboard.press("ArrowRight");
        await p.page.keyboard.press("ArrowRight");
        const t1 = await pollPage<number>(
          p.page,
          "the remote's seek",
          bodyNumber("time"),
          (t) => t >= t0 + 15,
          15_000,
        );
        // Down moves to the options row; right moves along it.
        await p.page.keyboard.press("ArrowDown");
        assert.equal(
          await p.page.evaluate("document.activeElement.dataset.row"),
          "options",
        );
        // Pausing writes the position (the browser's storage and /api/resume).
        await p.page.click("#play");
        await pollPage<number>(
          p.page,
          "the position on the server",
          `fetch('/api/resume?viewer=viewer-42&video=' + encodeURIComponent('vod/films/影片 one.mp4')).then((r) => r.ok ? r.json() : {}).then((j) => j.positionSeconds ?? 0)`,
          (s) => s >= t1 - 1,
          10_000,
        );
        assert.deepEqual(p.problems, []);
        await p.close();
      }
      {
        // Another device (a fresh browser profile, nothing stored locally), same viewer, on
        // the origin this time: offered the server's position, and resumed there.
        const p = await open(w, `${w.originUrl}${vodPath}?viewer=viewer-42`);
        const offered = await pollPage<number>(
          p.page,
          "the resume offer",
          bodyNumber("resumeOffered"),
          (n) => n > 20,
          20_000,
        );
        await p.page.waitForSelector("#resume:not([hidden])");
        assert.equal(
          await p.page.evaluate("document.activeElement.id"),
          "resume-yes",
          "the remote lands on Resume",
        );
        await p.page.keyboard.press("Enter");
        await pollPage<number>(
          p.page,
          "playing from the stored position",
          bodyNumber("time"),
          (t) => t >= offered - 1 && t < offered + 8,
          20_000,
        );
        await p.close();
      }

      // --- the quality menu of an HLS master playlist --------------------------------------
      {
        const p = await open(
          w,
          `${w.originUrl}/play/vod/films/abr.mp4?protocol=hls`,
          {
            lang: "zh",
          },
        );
        // No transcoder here yet: the browser is handed a master playlist naming the two files
        // as renditions (page.route answers that one request; everything else is real).
        await p.page.route(
          "**/vod/films/abr.mp4.m3u8",
          (route) =>
            route.fulfill({
              contentType: "application/vnd.apple.mpegurl",
              body: [
                "#EXTM3U",
                "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=320x180",
                "/vod/films/%E5%BD%B1%E7%89%87%20one.mp4.m3u8",
                "#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x90",
                "/vod/films/small.mp4.m3u8",
                "",
              ].join("\n"),
            }),
        );
        await p.page.reload();
        await p.page.waitForSelector("#quality-box:not([hidden])", {
          timeout: 30_000,
        });
        const options = await p.page.$$eval(
          "#quality option",
          (os) => os.map((o) => o.textContent),
        );
        assert.equal(options.length, 3);
        assert.equal(options[0], "自动");
        assert.ok(options.some((o) => o?.startsWith("180p")), options.join());
        assert.ok(options.some((o) => o?.startsWith("90p")), options.join());
        const small = await p.page.$$eval(
          "#quality option",
          (os) =>
            os.find((o) => o.textContent?.startsWith("90p"))?.getAttribute(
              "value",
            ),
        );
        // Picked once playback runs (hls.js's start-up level choice is over by then).
        await p.page.waitForSelector('body[data-status="playing hls"]', {
          timeout: 30_000,
        });
        await p.page.selectOption("#quality", small!);
        await pollPage<string>(
          p.page,
          "the 90p rendition playing",
          "document.body.dataset.level ?? ''",
          (l) => l === small,
          20_000,
        );
        await assertChinese(p.page, "player with a quality menu");
        await p.close();
      }

      // --- viewports and Chinese on every player page -----------------------------------------
      const pages = [
        ["live", `${w.edgeUrl}/play/live/demo`],
        ["vod", `${w.edgeUrl}${vodPath}`],
      ];
      for (const [name, url] of pages) {
        for (const [vw, vh] of [[390, 844], [1920, 1080]]) {
          for (const lang of ["en", "zh"]) {
            const p = await open(w, url!, {
              viewport: { width: vw!, height: vh! },
              lang,
            });
            await p.page.waitForSelector("body[data-lang]");
            await p.page.waitForSelector(
              `body[data-status^="playing"]`,
              { timeout: 30_000 },
            );
            assert.equal(
              await p.page.evaluate("document.body.dataset.lang"),
              lang,
            );
            await assertNoHorizontalScroll(
              p.page,
              `${name} ${vw}x${vh} ${lang}`,
            );
            if (lang === "zh") {
              await assertChinese(p.page, `${name} player`);
              assert.match(
                await p.page.textContent("#status") ?? "",
                /正在通过/,
              );
            }
            await screenshot(p.page, `play-${name}-${lang}-${vw}x${vh}`);
            await p.close();
          }
        }
      }
      // The switch on the page shows Chinese at once and is remembered.
      {
        const p = await open(w, `${w.edgeUrl}/play/live/demo`);
        await p.page.waitForSelector('body[data-lang="en"]');
        await p.page.click("#lang");
        await p.page.waitForSelector('body[data-lang="zh"]');
        await assertChinese(p.page, "live player after the switch");
        await p.page.reload();
        await p.page.waitForSelector('body[data-lang="zh"]');
        await p.close();
      }
    });
  },
});
