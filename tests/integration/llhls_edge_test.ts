/**
 * LL-HLS through Meridian's edge, with real peers: ffmpeg publishes RTMP to an origin, an edge
 * sits in front of it behind a counting proxy (every request the edge sends to the origin is
 * counted by path and query), then
 * - 1,000 viewers' blocking reloads for the same future part are held and answered, and the
 *   origin saw ONE request for that playlist; likewise 1,000 requests for the hinted part;
 * - hls.js in low-latency mode in Chromium plays `/{app}/{stream}/ll.m3u8` through the edge:
 *   it parses the parts, loads them, frames advance, and the origin served each part once.
 * The regular playlist keeps working beside it.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { startEdge } from "../../edge/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { MAX_HOLD_MS } from "../../origin/llhls/mod.ts";
import {
  type BackgroundPeer,
  hasBinary,
  publishArgs,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { haveChromium, launchBrowser, pollPage } from "./_browser.ts";

const haveFfmpeg = await hasBinary("ffmpeg");

/** Origin + counting proxy + edge, and ffmpeg publishing `live/cam`. */
async function startChain() {
  const config = parseConfig({
    origin: { rtmpPort: 0, httpPort: 0, virtualLive: [] },
  });
  const origin = await startOrigin(config.origin, {
    log: silentLogger,
    metrics: new MetricsRegistry(),
  });
  const seen = new Map<string, number>();
  const upstream = `http://127.0.0.1:${origin.httpPort}`;
  const proxy = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const u = new URL(req.url);
      const key = u.pathname + u.search;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      const r = await fetch(upstream + key, { headers: req.headers });
      return new Response(r.body, { status: r.status, headers: r.headers });
    },
  );
  const edge = await startEdge(
    parseConfig({
      edge: {
        port: 0,
        origins: [{ url: `http://127.0.0.1:${proxy.addr.port}` }],
      },
    }).edge,
    { log: silentLogger, metrics: new MetricsRegistry(), healthChecks: false },
  );
  const pub: BackgroundPeer = startPeer(
    "ffmpeg",
    publishArgs(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`, 60),
  );
  const eh = `http://127.0.0.1:${edge.port}`;
  const close = async () => {
    await pub.stop();
    await edge.close();
    await proxy.shutdown();
    await origin.close();
  };
  return { eh, seen, close };
}

const HINT_RE =
  /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(ll_([a-z0-9]+)_(\d+)_(\d+)\.m4s)"/;

Deno.test({
  name:
    "LL-HLS edge: 1,000 blocking reloads for one future part, and 1,000 requests for the hinted part, cost the origin one request each",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { eh, seen, close } = await startChain();
    try {
      const text = await waitFor(
        "an LL playlist with parts",
        async () => {
          const r = await fetch(`${eh}/live/cam/ll.m3u8`);
          const t = await r.text();
          return r.status === 200 && /#EXT-X-PART:/.test(t) ? t : undefined;
        },
        20_000,
        100,
      );
      const hint = HINT_RE.exec(text)!;
      const [epoch, msn, hinted] = [hint[2]!, Number(hint[3]), Number(hint[4])];
      // The part after the hinted one: surely not made yet when the viewers ask.
      const part = hinted + 1;
      const q = `/live/cam/ll.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`;
      const N = 1000;
      const answers = await Promise.all(
        Array.from({ length: N }, async () => {
          const r = await fetch(eh + q);
          const body = await r.text();
          return {
            status: r.status,
            listed: body.includes(`"ll_${epoch}_${msn}_${part}.m4s"`) ||
              // The segment ended before that part: the next segment's first part answers.
              body.includes(`"ll_${epoch}_${msn + 1}_0.m4s"`),
          };
        }),
      );
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
      assert.equal(answers.filter((a) => a.listed).length, N);
      assert.equal(seen.get(q), 1, `origin requests for ${q}`);

      // The preload hint of that answer, asked for by 1,000 viewers before it exists.
      const latest = await (await fetch(eh + q)).text();
      const next = HINT_RE.exec(latest)![1]!;
      const path = `/live/cam/${next}`;
      const parts = await Promise.all(
        Array.from({ length: N }, async () => {
          const r = await fetch(eh + path);
          return {
            status: r.status,
            bytes: (await r.arrayBuffer()).byteLength,
          };
        }),
      );
      assert.deepEqual([...new Set(parts.map((p) => p.status))], [200]);
      assert.equal(new Set(parts.map((p) => p.bytes)).size, 1);
      assert.ok(parts[0]!.bytes > 100);
      assert.equal(seen.get(path), 1, `origin requests for ${path}`);

      // Regular HLS beside it.
      const regular = await fetch(`${eh}/live/cam.m3u8`);
      assert.equal(regular.status, 200);
      assert.match(await regular.text(), /#EXTINF:.*\n.*\.ts/);
    } finally {
      await close();
    }
  },
});

Deno.test({
  name:
    "LL-HLS edge: hls.js in low-latency mode in Chromium plays ll.m3u8 through the edge, loading parts, each fetched once from the origin",
  ignore: !haveFfmpeg || !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { eh, seen, close } = await startChain();
    const browser = await launchBrowser();
    try {
      await waitFor(
        "an LL playlist",
        async () => {
          const r = await fetch(`${eh}/live/cam/ll.m3u8`);
          const t = await r.text();
          return r.status === 200 && /#EXT-X-PART:/.test(t) ? t : undefined;
        },
        20_000,
        100,
      );
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.setContent('<video id="v" muted autoplay></video>');
      await page.addScriptTag({ url: `${eh}/assets/hls.min.js` });
      await page.evaluate(`(() => {
        const v = document.getElementById("v");
        const hls = new Hls({ lowLatencyMode: true });
        window.stats = { parts: 0, fatal: [], partList: 0, canBlock: false };
        hls.on(Hls.Events.FRAG_LOADED, (_, d) => { if (d.part) window.stats.parts++; });
        hls.on(Hls.Events.LEVEL_UPDATED, (_, d) => {
          window.stats.partList = (d.details.partList || []).length;
          window.stats.canBlock = d.details.canBlockReload;
        });
        hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) window.stats.fatal.push(d.details); });
        hls.loadSource(${JSON.stringify(`${eh}/live/cam/ll.m3u8`)});
        hls.attachMedia(v);
        window.hls = hls;
      })()`);
      const played = await pollPage<{ t: number; frames: number }>(
        page,
        "playback past 3 s",
        `({ t: document.getElementById("v").currentTime,
            frames: document.getElementById("v").getVideoPlaybackQuality().totalVideoFrames })`,
        (v) => v.t > 3,
        40_000,
        200,
      );
      // Frames keep advancing.
      await pollPage<number>(
        page,
        "more frames",
        `document.getElementById("v").getVideoPlaybackQuality().totalVideoFrames`,
        (f) => f > played.frames + 25,
        20_000,
        200,
      );
      const stats = await page.evaluate("window.stats") as {
        parts: number;
        fatal: string[];
        partList: number;
        canBlock: boolean;
      };
      assert.deepEqual(stats.fatal, []);
      assert.deepEqual(errors, []);
      assert.equal(stats.canBlock, true, "EXT-X-SERVER-CONTROL read");
      assert.ok(stats.partList > 0, "hls.js parsed EXT-X-PART");
      assert.ok(stats.parts >= 5, `parts loaded: ${stats.parts}`);
      // Blocking reloads were used, and every part reached the origin once at most.
      const blocking = [...seen.keys()].filter((k) => k.includes("_HLS_msn="));
      assert.ok(blocking.length >= 5, `blocking reloads: ${blocking.length}`);
      const partFetches = [...seen.entries()].filter(([k]) =>
        /\/ll_[a-z0-9]+_\d+_\d+\.m4s$/.test(k)
      );
      assert.ok(partFetches.length >= 5);
      for (const [k, n] of partFetches) assert.equal(n, 1, k);

      // The player page through the edge, asked for LL-HLS: it plays it, and offers the switch.
      const player = await browser.newPage();
      const pageErrors: string[] = [];
      player.on("pageerror", (e) => pageErrors.push(String(e)));
      await player.goto(`${eh}/play/live/cam?protocol=llhls`);
      await pollPage<string>(
        player,
        "the player page playing LL-HLS",
        "document.body.dataset.status",
        (s) => s === "playing llhls",
        30_000,
        200,
      );
      await pollPage<number>(
        player,
        "the player's clock past 1.5 s",
        "Number(document.body.dataset.time ?? 0)",
        (t) => t > 1.5,
        30_000,
        200,
      );
      assert.equal(
        await player.evaluate('document.getElementById("llhls").hidden'),
        false,
      );
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser.close();
      await close();
    }
  },
});

Deno.test("LL-HLS edge: the edge's default upstream and collapse timeouts outlast the origin's longest hold", () => {
  const edge = parseConfig({}).edge;
  // A held blocking request answers within MAX_HOLD_MS (200 or 503): the edge must not give
  // up on it first, or every waiter behind the one fetch gets a 504.
  assert.ok(
    edge.upstream.timeoutMs > MAX_HOLD_MS,
    `${edge.upstream.timeoutMs}`,
  );
  assert.ok(edge.cache.collapseWaitMs > MAX_HOLD_MS);
});
