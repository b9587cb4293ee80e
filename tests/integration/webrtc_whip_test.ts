/**
 * WHIP ingest from a real browser: headless Chromium on our page publishes a canvas
 * (captureStream, H.264 preferred) with its own RTCPeerConnection to `/{app}/{stream}/whip`,
 * the publish key as the bearer token; ffprobe reads the stream back over HTTP-FLV and RTMP
 * (H.264 at the canvas's size), so every output serves a WHIP stream. A wrong key is refused
 * as an RTMP publish would be; DELETE ends the stream.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { CHROMIUM, haveChromium } from "./_browser.ts";
import { hasBinary, probeStreams, waitFor } from "../_helpers/peers.ts";

const haveFfprobe = await hasBinary("ffprobe");

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];

/** Runs in the page: publishes a drawn canvas over WHIP; the peer stays on `globalThis`. */
const PUBLISH = `async ({ url, key }) => {
  const c = document.createElement("canvas");
  c.width = 320;
  c.height = 240;
  document.body.append(c);
  const g = c.getContext("2d");
  let n = 0;
  globalThis.__draw = setInterval(() => {
    g.fillStyle = "hsl(" + ((n * 7) % 360) + " 80% 50%)";
    g.fillRect(0, 0, 320, 240);
    g.fillStyle = "#fff";
    g.font = "40px sans-serif";
    g.fillText(String(n++), 20, 120);
  }, 40);
  const track = c.captureStream(25).getVideoTracks()[0];
  const pc = new RTCPeerConnection();
  const t = pc.addTransceiver(track, { direction: "sendonly" });
  t.setCodecPreferences(
    RTCRtpSender.getCapabilities("video").codecs.filter((x) => x.mimeType === "video/H264"),
  );
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    setTimeout(resolve, 2000);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: "Bearer " + key },
    body: pc.localDescription.sdp,
  });
  const body = await res.text();
  if (res.status !== 201) {
    pc.close();
    return { status: res.status, body };
  }
  await pc.setRemoteDescription({ type: "answer", sdp: body });
  globalThis.__pc = pc;
  return { status: res.status, location: res.headers.get("Location") };
}`;

Deno.test({
  name:
    "origin/webrtc: Chromium publishes a canvas over WHIP with the publish key; ffprobe reads H.264 back over HTTP-FLV and RTMP",
  ignore: !haveChromium || !haveFfprobe,
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
        defaultApp: { publishKeys: ["whip-key-1"] },
        webrtc: { icePortMin: 26100, icePortMax: 26199 },
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics,
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ARGS,
      timeout: 30_000,
      // Tests share the process under --parallel, and one sends itself SIGHUP (log
      // rotation): Playwright would close the browser on it.
      handleSIGHUP: false,
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${http}/`);
      const publish = (key: string) =>
        page.evaluate(
          `(${PUBLISH})(${
            JSON.stringify({ url: `${http}/live/wp/whip`, key })
          })`,
        ) as Promise<{ status: number; location?: string; body?: string }>;

      // A wrong key is refused like an RTMP publish with it, and nothing goes live.
      const wrong = await publish("nope");
      assert.equal(wrong.status, 403, wrong.body);
      assert.equal(origin.registry.get("live", "wp")?.live ?? false, false);

      const ok = await publish("whip-key-1");
      assert.equal(ok.status, 201, ok.body);
      assert.match(ok.location ?? "", /^\/live\/wp\/whip\/[0-9a-f]{32}$/);
      const hub = await waitFor(
        "the WHIP stream's video",
        () => {
          const h = origin.registry.get("live", "wp");
          return h?.live && h.codecs.video ? h : undefined;
        },
        20_000,
        100,
      );
      assert.equal(hub.publisher.protocol, "webrtc");
      assert.equal(hub.codecs.video, "avc");

      const flv = await probeStreams(`${http}/live/wp.flv`) as {
        codec_name: string;
        width?: number;
        height?: number;
      }[];
      assert.deepEqual(
        flv.map((s) => [s.codec_name, s.width, s.height]),
        [["h264", 320, 240]],
      );
      const rtmp = await probeStreams(
        `rtmp://127.0.0.1:${origin.rtmpPort}/live/wp`,
      );
      assert.deepEqual(rtmp.map((s) => s.codec_name), ["h264"]);

      // HLS serves it too: segments are cut at the keyframes the encoder sends.
      await waitFor(
        "three HLS segments of the WHIP stream",
        async () => {
          const res = await fetch(`${http}/live/wp.m3u8`);
          const text = await res.text();
          return (text.match(/^#EXTINF/gm) ?? []).length >= 3
            ? text
            : undefined;
        },
        30_000,
        500,
      );

      const m = await (await fetch(`${http}/metrics`)).text();
      const frames = Number(
        /meridian_origin_webrtc_frames_total\{direction="in"\} (\d+)/.exec(m)
          ?.[1],
      );
      assert.ok(frames > 10, `frames in: ${frames}`);

      // DELETE of the session URL ends the publish.
      const del = await fetch(`${http}${ok.location}`, { method: "DELETE" });
      assert.equal(del.status, 200);
      await del.body?.cancel();
      assert.equal(origin.registry.get("live", "wp")?.live ?? false, false);
    } finally {
      await browser.close();
      await origin.close();
    }
  },
});
