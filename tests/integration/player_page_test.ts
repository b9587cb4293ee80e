/**
 * The player page in a real browser: headless Chromium (Debian's) driven by playwright-core opens
 * the origin's `/`, which lists the demo channel and plays it over HLS (hls.js) and HTTP-FLV
 * (mpegts.js), both served locally; and the same page over HTTPS from an edge, with no mixed
 * content (every request https://, Chromium trusting only the test certificate's key).
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { startEdge } from "../../edge/mod.ts";
import { createTestCa, haveOpenssl, tlsSection } from "../_helpers/tls.ts";
import { runPeer } from "../_helpers/peers.ts";

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

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as Chromium's SPKI allow-list takes it. */
async function spkiHash(certFile: string): Promise<string> {
  const out = await runPeer("sh", [
    "-c",
    `openssl x509 -in '${certFile}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
  ], 10_000);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim();
}

Deno.test({
  name:
    "player page over HTTPS from the edge: Chromium plays HLS and HTTP-FLV with no mixed content",
  ignore: !haveChromium || !haveOpenssl,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ca = await createTestCa();
    const cert = await ca.issue("edge", { names: ["localhost"] });
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [{ app: "live", stream: "demo", file: demo }],
      },
    });
    const metrics = new MetricsRegistry();
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics,
    });
    const edge = await startEdge(
      parseConfig({
        edge: {
          port: 0,
          origins: [{ url: `http://127.0.0.1:${origin.httpPort}` }],
          tls: tlsSection(cert),
        },
      }).edge,
      { log: silentLogger, metrics, healthChecks: false },
    );
    // Chromium trusts this one key only (no blanket ignoring of certificate errors).
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        ...ARGS,
        `--ignore-certificate-errors-spki-list=${await spkiHash(
          cert.certFile,
        )}`,
      ],
      timeout: 30_000,
    });
    const base = `https://127.0.0.1:${edge.httpsPort}/`;
    const insecure: string[] = [];
    const mixed: string[] = [];
    try {
      const page = await browser.newPage();
      page.on("request", (r) => {
        const url = r.url();
        if (/^(https?|wss?):/.test(url) && !url.startsWith(base)) {
          insecure.push(url);
        }
      });
      page.on("console", (m) => {
        if (/mixed content|insecure/i.test(m.text())) mixed.push(m.text());
      });
      await page.goto(base);
      assert.equal(await page.evaluate("location.protocol"), "https:");
      assert.equal(await page.evaluate("window.isSecureContext"), true);
      await page.waitForSelector('#streams li[data-key="live/demo"]', {
        timeout: 15_000,
      });
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
      assert.deepEqual(insecure, []);
      assert.deepEqual(mixed, []);
    } finally {
      await browser.close();
      await edge.close();
      await origin.close();
      await ca.close();
    }
  },
});
