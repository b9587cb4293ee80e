/**
 * The control console in a real browser: headless Chromium (Debian's) driven by playwright-core
 * opens the control port's `/`, signs in with the admin token, lists tokens, mints one through
 * the form, revokes it, and lists a live stream from the store's stream directory.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { parseConfig } from "../../config/mod.ts";
import { startControl } from "../../control/mod.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { KvStore } from "../../store/mod.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const ADMIN_TOKEN = "console-admin-token-0123456789";

// Same flags as the player page test: no sandbox as root, no background networking.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

Deno.test({
  name:
    "console page: Chromium signs in, mints and revokes a token, lists a live stream",
  ignore: !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian_console_" });
    const store = await KvStore.open(`${dir}/m.kv`, { pollIntervalMs: 50 });
    const config = parseConfig({
      dataDir: dir,
      control: {
        port: 0,
        adminToken: ADMIN_TOKEN,
        servicePassword: "console-service-password",
      },
    });
    const control = await startControl(config.control, {
      store,
      dataDir: dir,
      log: silentLogger,
      metrics: new MetricsRegistry(),
      fullConfig: config,
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ARGS,
      timeout: 30_000,
    });
    const external: string[] = [];
    const pageErrors: string[] = [];
    try {
      // A token that exists before the page opens.
      const now = Date.now();
      await store.createToken({
        token: "PreMintedToken01",
        app: "live",
        createdAtMs: now,
        expiresAtMs: now + 600_000,
        maxUses: 0,
      });
      const page = await browser.newPage();
      page.on("request", (r) => {
        const url = r.url();
        if (/^(https?|wss?):/.test(url) && !url.startsWith(control.url)) {
          external.push(url);
        }
      });
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      // The page runs under its own strict CSP (no eval): waits use selectors, not
      // waitForFunction strings, and any CSP violation the page causes fails the test.
      page.on("console", (m) => {
        if (/Content Security Policy/i.test(m.text())) {
          pageErrors.push(m.text());
        }
      });
      page.on("dialog", (d) => void d.accept());
      await page.goto(control.url);

      // A wrong token is refused and the console stays locked.
      await page.fill("#login-token", "wrong-admin-token-000000");
      await page.click("#login-form button[type=submit]");
      await page.waitForSelector('#login-error:text-is("wrong admin token")', {
        timeout: 10_000,
      });
      assert.equal(await page.isHidden("#app"), true);

      await page.fill("#login-token", ADMIN_TOKEN);
      await page.click("#login-form button[type=submit]");
      await page.waitForSelector("#app", { state: "visible", timeout: 10_000 });
      assert.equal(
        await page.evaluate("sessionStorage.getItem('meridian.adminToken')"),
        ADMIN_TOKEN,
      );

      // Tokens tab: the existing token is listed.
      await page.click('#tabs button[data-tab="tokens"]');
      await page.waitForSelector('#tokens tr[data-token="PreMintedToken01"]', {
        timeout: 10_000,
      });

      // Mint one through the form.
      await page.fill("#mint-app", "live");
      await page.fill("#mint-duration", "120");
      await page.fill("#mint-limit", "3");
      await page.click("#mint-form button[type=submit]");
      await page.waitForSelector(
        '#mint-result:text-matches("^[A-Za-z0-9]{16}$")',
        { timeout: 10_000 },
      );
      const minted = await page.textContent("#mint-result") ?? "";
      const row = `#tokens tr[data-token="${minted}"]`;
      await page.waitForSelector(row, { timeout: 10_000 });
      assert.match(await page.textContent(row) ?? "", /live.*active.*0 \/ 3/s);
      const stored = await store.getToken(minted);
      assert.equal(stored?.app, "live");
      assert.equal(stored?.maxUses, 3);
      assert.equal(stored!.expiresAtMs - stored!.createdAtMs, 120_000);

      // Revoke it (the confirm dialog is accepted): it leaves the list and the store.
      await page.click(`${row} button.revoke`);
      await page.waitForSelector(row, { state: "detached", timeout: 10_000 });
      assert.equal(await store.getToken(minted), undefined);
      assert.ok(await page.$('#tokens tr[data-token="PreMintedToken01"]'));

      // Streams tab: a stream in the directory shows up on the next poll.
      await page.click('#tabs button[data-tab="streams"]');
      await page.waitForSelector('body[data-loaded="streams"]', {
        timeout: 10_000,
      });
      await store.streams.announce({
        originId: "origin-a:8090",
        httpUrl: "http://127.0.0.1:8090",
        rtmpUrl: "rtmp://127.0.0.1:1935",
        streams: [{
          app: "live",
          name: "cam1",
          startedAt: new Date().toISOString(),
          viewers: 4,
          bytesIn: 2_500_000,
          codecs: { video: "H264", audio: "AAC" },
          protocol: "rtmp",
        }],
        omitted: 0,
        updatedAtMs: Date.now(),
        ttlMs: 60_000,
      });
      const stream = '#streams tr[data-key="live/cam1"]';
      await page.waitForSelector(stream, { timeout: 10_000 });
      const text = await page.textContent(stream) ?? "";
      assert.match(text, /origin-a:8090/);
      assert.match(text, /H264 \+ AAC/);
      assert.match(text, /2\.5 MB/);
      assert.equal(
        await page.getAttribute(`${stream} a`, "href"),
        "http://127.0.0.1:8090/?stream=live/cam1",
      );

      // Config tab: the running config, secrets redacted.
      await page.click('#tabs button[data-tab="config"]');
      await page.waitForSelector('#config:has-text("adminToken")', {
        timeout: 10_000,
      });
      const shown = await page.textContent("#config") ?? "";
      assert.ok(!shown.includes(ADMIN_TOKEN));
      assert.match(shown, /"adminToken": "\[redacted\]"/);

      assert.deepEqual(external, []);
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser.close();
      await control.close();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
