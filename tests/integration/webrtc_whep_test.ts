/**
 * WHEP playback in a real browser: ffmpeg publishes H.264/AAC over RTMP; headless Chromium
 * opens our player page with `?protocol=webrtc`, whose own RTCPeerConnection offers to
 * `/{app}/{stream}/whep`; decoded video frames are counted (requestVideoFrameCallback) and
 * the picture has the publisher's size; the AAC audio arrives as Opus. Closing the tab without a DELETE leaves a vanished
 * viewer that the origin cleans up; `/metrics` shows the session and its frames.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { bodyNumber, CHROMIUM, haveChromium, pollPage } from "./_browser.ts";
import {
  hasBinary,
  publishArgs,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg");

// _browser.ts's flags, plus real host candidates (no mDNS names) so ICE on loopback is direct.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

Deno.test({
  name:
    "origin/webrtc: Chromium plays an RTMP stream over WHEP on our player page (frames decoded), a closed tab is cleaned up",
  ignore: !haveChromium || !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const metrics = new MetricsRegistry();
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        srt: { enabled: false },
        rtsp: { enabled: false },
        webrtc: { icePortMin: 26000, icePortMax: 26099 },
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics,
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    const pub = startPeer(
      "ffmpeg",
      publishArgs(`rtmp://127.0.0.1:${origin.rtmpPort}/live/wr`, 60, {
        gop: 25,
      }),
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ARGS,
      timeout: 30_000,
      // Tests share the process under --parallel, and one sends itself SIGHUP (log
      // rotation): Playwright would close the browser on it.
      handleSIGHUP: false,
    });
    try {
      await waitFor(
        "the RTMP publish",
        () => origin.registry.get("live", "wr")?.codecs.video,
        15_000,
      );
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${http}/play/live/wr?protocol=webrtc`);
      const frames = await pollPage<number>(
        page,
        "WebRTC frames decoded",
        bodyNumber("webrtcFrames"),
        (n) => n >= 50,
        30_000,
      );
      assert.ok(frames >= 50, `frames ${frames}`);
      const seen = await page.evaluate(`(() => {
        const v = document.getElementById("video");
        return {
          width: v.videoWidth,
          height: v.videoHeight,
          state: document.body.dataset.webrtcState,
          status: document.body.dataset.status,
          note: document.body.dataset.webrtcNote,
        };
      })()`) as Record<string, unknown>;
      assert.equal(seen.width, 320);
      assert.equal(seen.height, 240);
      assert.equal(seen.state, "connected");
      assert.equal(seen.status, "playing webrtc");
      // The AAC audio arrives as Opus (the origin's ffmpeg child), so there is no note.
      assert.equal(seen.note, undefined);
      await pollPage<number>(
        page,
        "Opus audio packets",
        bodyNumber("webrtcAudioPackets"),
        (n) => n >= 50,
        20_000,
      );
      assert.deepEqual(errors, []);

      const m = await (await fetch(`${http}/metrics`)).text();
      assert.equal(sample(m, "meridian_origin_transcode_children"), 1);
      assert.equal(
        sample(m, 'meridian_origin_webrtc_sessions{kind="whep"}'),
        1,
      );
      assert.ok(
        sample(m, 'meridian_origin_webrtc_frames_total{direction="out"}') >=
          50,
      );

      // The tab goes away without a DELETE: the origin notices (DTLS close, ICE consent or
      // RTCP silence) and ends the session.
      await page.close();
      await waitFor(
        "the vanished viewer's session to end",
        async () => {
          const t = await (await fetch(`${http}/metrics`)).text();
          // ...and the Opus child of the stream stops with its last viewer.
          const open = sample(
            t,
            'meridian_origin_webrtc_sessions{kind="whep"}',
          );
          const children = sample(t, "meridian_origin_transcode_children");
          return open === 0 && children === 0 ? true : undefined;
        },
        45_000,
        500,
      );
    } finally {
      await browser.close();
      await pub.stop();
      await origin.close();
    }
  },
});
