/**
 * The control console end to end in headless Chromium, over a real origin, edge and control
 * sharing one store (one browser for the file): sign-in (wrong token refused; the cookie
 * HttpOnly, SameSite=Strict, expiring; CSRF and the viewer role enforced), the overview's
 * nodes, a stream ffmpeg publishes listed with its codecs and a rising bit-rate chart and then
 * kicked, a file uploaded in chunks that appears in the library and plays in the preview, a
 * minted token that opens a protected stream, a purge from the console that empties the
 * edge's cache, an invalid config edit that shows each key's error and changes nothing (a
 * valid one applied), and every panel in Chinese with no catalogue miss, at phone and TV
 * sizes without sideways scrolling. Screenshots of every panel in both languages are written
 * to the artifacts folder.
 */
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type MeridianConfig, parseConfig } from "../../config/mod.ts";
import { startControl } from "../../control/mod.ts";
import type { EdgeHandle } from "../../edge/mod.ts";
import { hashPassword } from "../../access/mod.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import { endpointUrl, NodeAnnouncer } from "../../runtime/node_announcer.ts";
import { KvStore } from "../../store/mod.ts";
import {
  hasBinary,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { edgeConfig, startTestEdge } from "../edge/_helpers/fixtures.ts";
import {
  assertChinese,
  assertNoHorizontalScroll,
  guardPage,
  haveChromium,
  launchBrowser,
  pollPage,
  screenshot,
} from "./_browser.ts";

const haveFfmpeg = await hasBinary("ffmpeg");
const ADMIN_TOKEN = "console-e2e-admin-token-0123456789";
const VIEWER_PASSWORD = "viewer password 0123";
const demo = new URL("../../media/demo.flv", import.meta.url).pathname;
const PANELS = ["overview", "live", "library", "access", "edges", "config"];

interface World {
  readonly dir: string;
  readonly store: KvStore;
  readonly origin: OriginHandle;
  readonly edge: EdgeHandle;
  readonly controlUrl: string;
  readonly originUrl: string;
  readonly edgeUrl: string;
  readonly browser: Browser;
  /** Configs the console asked to apply, in order. */
  readonly applied: MeridianConfig[];
  current: MeridianConfig;
}

async function setup(): Promise<{ w: World; close: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "meridian_console_" });
  await Deno.mkdir(`${dir}/lib`);
  const store = await KvStore.open(`${dir}/m.kv`, { pollIntervalMs: 50 });
  const viewerHash = await hashPassword(VIEWER_PASSWORD, 100_000);
  const config = parseConfig({
    dataDir: `${dir}/data`,
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      adminToken: ADMIN_TOKEN,
      virtualLive: [{ app: "secure", stream: "demo", file: demo }],
      apps: [{ name: "secure", access: "token" }],
      vod: { libraries: [{ path: `${dir}/lib`, prefix: "/vod/" }] },
    },
    control: {
      port: 0,
      adminToken: ADMIN_TOKEN,
      servicePassword: "console-e2e-service-password",
      operators: [{
        name: "watcher",
        passwordHash: viewerHash,
        role: "viewer",
      }],
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
  const applied: MeridianConfig[] = [];
  const w = {
    dir,
    store,
    origin,
    edge,
    originUrl,
    edgeUrl,
    applied,
    current: config,
  } as Omit<World, "controlUrl" | "browser"> & { current: MeridianConfig };
  const control = await startControl(config.control, {
    store,
    dataDir: `${dir}/data`,
    log: silentLogger,
    metrics: new MetricsRegistry(),
    fullConfig: config,
    settings: {
      current: () => w.current,
      apply: (next) => {
        applied.push(next);
        w.current = next;
        return Promise.resolve({ restarted: ["origin"], deferred: [] });
      },
    },
  });
  const controlUrl = control.url.replace(/\/$/, "");
  // This process's node record, as main.ts announces it.
  const nodes = new NodeAnnouncer(store.nodes, {
    id: "test-node:1",
    roles: ["origin", "edge", "control"],
    endpoints: {
      "origin.http": originUrl,
      "origin.rtmp": endpointUrl("rtmp", "127.0.0.1", origin.rtmpPort),
      "edge.http": edgeUrl,
      "control.http": controlUrl,
    },
    intervalMs: 500,
  });
  nodes.start();
  const browser = await launchBrowser();
  return {
    w: Object.assign(w, { controlUrl, browser }) as World,
    close: async () => {
      await browser.close();
      await nodes.close();
      await control.close();
      await edge.close();
      await origin.close();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function newPage(
  w: World,
  opts: { lang?: string; viewport?: { width: number; height: number } } = {},
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await w.browser.newContext({
    viewport: opts.viewport ?? { width: 1366, height: 900 },
    locale: opts.lang === "zh" ? "zh-CN" : "en-US",
  });
  const page = await context.newPage();
  const guard = guardPage(page, [w.controlUrl, w.originUrl, w.edgeUrl]);
  page.on(
    "dialog",
    (d) =>
      void d.accept(d.type() === "prompt" ? promptAnswer.value : undefined),
  );
  return { context, page, problems: guard.problems };
}
const promptAnswer = { value: "" };

async function signIn(
  page: Page,
  url: string,
  before?: () => Promise<void>,
): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("#login-token", { state: "visible" });
  await before?.();
  await page.fill("#login-token", ADMIN_TOKEN);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app", { state: "visible" });
}

async function openPanel(page: Page, name: string): Promise<void> {
  await page.click(`#tabs button[data-tab="${name}"]`);
  await page.waitForSelector(`body[data-loaded="${name}"]`, {
    timeout: 15_000,
  });
}

/** A 4 MB MP4 (several upload chunks) made by ffmpeg. */
async function makeUpload(dir: string): Promise<string> {
  const path = `${dir}/upload clip.mp4`;
  const out = await runPeer("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=640x360:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=sample_rate=44100",
    "-t",
    "12",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-b:v",
    "2500k",
    "-g",
    "25",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    path,
  ], 60_000);
  assert.equal(out.code, 0, out.stderr);
  return path;
}

Deno.test({
  name:
    "console: sign-in and CSRF, overview, live stream with codecs and rising bit rate, upload and play, token, purge, config errors, Chinese everywhere",
  ignore: !haveChromium || !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { w, close } = await setup();
    const ffmpeg = startPeer(
      "ffmpeg",
      publishArgs(`rtmp://127.0.0.1:${w.origin.rtmpPort}/live/cam`, 240),
      300_000,
    );
    try {
      const { page, problems, context } = await newPage(w);

      await t.step(
        "sign-in: a wrong token is refused, the admin token opens the console",
        async () => {
          await page.goto(w.controlUrl);
          await page.waitForSelector("#login-token", { state: "visible" });
          await page.fill("#login-token", "wrong-token-000000000000");
          await page.click("#login-form button[type=submit]");
          await page.waitForSelector('#login-error:text("Wrong token")');
          assert.equal(await page.isHidden("#app"), true);
          await page.fill("#login-token", ADMIN_TOKEN);
          await page.click("#login-form button[type=submit]");
          await page.waitForSelector("#app", { state: "visible" });
          // The session cookie is out of the page's reach, and nothing secret is kept in storage.
          assert.equal(await page.evaluate("document.cookie"), "");
          assert.equal(
            await page.evaluate(
              "sessionStorage.length + localStorage.length <= 1",
            ),
            true,
          );
          const [cookie] = await context.cookies(w.controlUrl);
          assert.equal(cookie?.name, "meridian_session");
          assert.equal(cookie?.httpOnly, true);
          assert.equal(cookie?.sameSite, "Strict");
          assert.ok(cookie!.expires > Date.now() / 1000 + 3600, "expires");
        },
      );

      await t.step(
        "the API: CSRF token required with the cookie, the viewer role reads only",
        async () => {
          const login = await fetch(`${w.controlUrl}/console/login`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ token: ADMIN_TOKEN }),
          });
          const setCookie = login.headers.get("set-cookie") ?? "";
          assert.match(setCookie, /HttpOnly/);
          assert.match(setCookie, /SameSite=Strict/);
          assert.match(setCookie, /Max-Age=28800/);
          const { csrf } = await login.json();
          const cookie = setCookie.split(";")[0]!;
          const mint = (headers: Record<string, string>) =>
            fetch(`${w.controlUrl}/admin/tokens`, {
              method: "POST",
              headers: {
                "Content-Type": "application/json",
                Cookie: cookie,
                ...headers,
              },
              body: "{}",
            });
          let res = await mint({});
          assert.equal(res.status, 403);
          await res.body?.cancel();
          res = await mint({ "X-CSRF-Token": "forged" });
          assert.equal(res.status, 403);
          await res.body?.cancel();
          res = await mint({ "X-CSRF-Token": csrf });
          assert.equal(res.status, 201);
          const minted = (await res.json()).token.token as string;
          // A viewer: reads, sees token values masked, changes nothing.
          const vlogin = await fetch(`${w.controlUrl}/console/login`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({
              name: "watcher",
              password: VIEWER_PASSWORD,
            }),
          });
          assert.equal(vlogin.status, 200);
          const v = await vlogin.json();
          assert.equal(v.role, "viewer");
          const vcookie = (vlogin.headers.get("set-cookie") ?? "").split(
            ";",
          )[0]!;
          const list = await (await fetch(`${w.controlUrl}/admin/tokens`, {
            headers: { Cookie: vcookie },
          })).json();
          assert.ok(
            list.tokens.every((x: { token: string }) => x.token !== minted),
          );
          assert.ok(
            list.tokens.some((x: { token: string }) =>
              x.token.startsWith(minted.slice(0, 4))
            ),
          );
          res = await fetch(`${w.controlUrl}/admin/tokens`, {
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              Cookie: vcookie,
              "X-CSRF-Token": v.csrf,
            },
            body: "{}",
          });
          assert.equal(res.status, 403);
          assert.match(await res.text(), /viewer role/);
          const wrong = await fetch(`${w.controlUrl}/console/login`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({
              name: "watcher",
              password: "not the password",
            }),
          });
          assert.equal(wrong.status, 401);
          await wrong.body?.cancel();
          // The bearer token goes on working for scripts, without cookie or CSRF token.
          res = await fetch(`${w.controlUrl}/admin/streams`, {
            headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
          });
          assert.equal(res.status, 200);
          await res.body?.cancel();
          // The page's policy: no inline script or style anywhere.
          const home = await fetch(w.controlUrl);
          const csp = home.headers.get("content-security-policy") ?? "";
          await home.body?.cancel();
          assert.match(csp, /script-src 'self'(;|$)/);
          assert.ok(!csp.includes("unsafe-inline"), csp);
          assert.ok(!csp.includes("unsafe-eval"), csp);
        },
      );

      await t.step("overview: the node with its roles and ports", async () => {
        await openPanel(page, "overview");
        await page.waitForSelector('#nodes tr[data-node="test-node:1"]', {
          timeout: 10_000,
        });
        const row =
          await page.textContent('#nodes tr[data-node="test-node:1"]') ?? "";
        assert.match(row, /origin · edge · control/);
        assert.match(row, /origin\.http http:\/\/127\.0\.0\.1:\d+/);
        await page.waitForSelector('#kpis [data-kpi="overview.streams"]');
      });

      await t.step(
        "live: the published stream with codecs, picture and a rising bit-rate chart",
        async () => {
          await openPanel(page, "live");
          const row = '#streams tr[data-key="live/cam"]';
          await page.waitForSelector(row, { timeout: 20_000 });
          // Codecs and picture come with the first frames and the metadata.
          const text = await pollPage<string>(
            page,
            "the stream's codecs",
            `document.querySelector('${row}')?.textContent ?? ""`,
            (s) => s.includes("H.264") && s.includes("×"),
            20_000,
          );
          assert.match(text, /H\.264 \+ AAC/);
          assert.match(text, /320×240/);
          assert.match(text, /Lavf/);
          const n0 = await pollPage<number>(
            page,
            "bit-rate points",
            "Number(document.body.dataset.bitratePoints ?? 0)",
            (n) => n >= 2,
            30_000,
          );
          await pollPage<number>(
            page,
            "more bit-rate points",
            "Number(document.body.dataset.bitratePoints ?? 0)",
            (n) => n >= n0 + 2,
            20_000,
          );
          const last = Number(
            await page.evaluate("document.body.dataset.bitrateLast"),
          );
          assert.ok(last > 50_000 && last < 5_000_000, `ingest ${last} bit/s`);
          await page.waitForSelector(
            `${row} td[data-bitrate]:not([data-bitrate=""])`,
          );
          // Preview and links.
          await page.click(`${row} button.details`);
          await page.waitForSelector("#stream-detail:not([hidden])");
          await page.waitForSelector('#urls tr[data-url="live.urlRtmp"]');
          assert.match(
            await page.textContent("#urls") ?? "",
            /rtmp:\/\/127\.0\.0\.1:\d+\/live\/cam/,
          );
          assert.match(
            await page.inputValue("#embed"),
            /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/play\/live\/cam"/,
          );
          const frame = await waitFor(
            "preview frame",
            () => page.frames().find((f) => f.url().includes("/play/live/cam")),
          );
          await frame.waitForSelector('body[data-status^="playing"]', {
            timeout: 30_000,
          });
          // The preview plays HTTP-FLV from the edge: its next heartbeat counts it per stream.
          await pollPage<number>(
            page,
            "the edge's viewer of live/cam",
            `Number(document.querySelector('${row} td[data-edge-viewers]')?.dataset.edgeViewers ?? 0)`,
            (n) => n >= 1,
            20_000,
          );
          assert.match(
            await page.textContent(row) ?? "",
            /edge vm-\d+: 1|edge [^:]+: 1/,
          );
          await screenshot(page, "console-live-en-1366");
        },
      );

      await t.step(
        "library: a file uploaded in chunks appears, plays, moves and is deleted",
        async () => {
          const file = await makeUpload(w.dir);
          const size = (await Deno.stat(file)).size;
          assert.ok(size > 3 * 1024 * 1024, `${size} bytes: several chunks`);
          await openPanel(page, "library");
          await page.fill("#upload-folder", "uploads");
          await page.setInputFiles("#upload-files", file);
          await page.click("#upload-form button[type=submit]");
          await page.waitForSelector('#uploads li[data-state="done"]', {
            timeout: 60_000,
          });
          assert.deepEqual(
            new Uint8Array(
              await Deno.readFile(`${w.dir}/lib/uploads/upload clip.mp4`),
            ),
            new Uint8Array(await Deno.readFile(file)),
          );
          await page.click('#files tr[data-folder="uploads"] button');
          const row = '#files tr[data-path="uploads/upload clip.mp4"]';
          await page.waitForSelector(row, { timeout: 15_000 });
          assert.match(await page.textContent(row) ?? "", /0:12/);
          await page.click(`${row} button.open`);
          const frame = await waitFor(
            "library preview",
            () =>
              page.frames().find((f) => f.url().includes("/play/vod/uploads/")),
          );
          await frame.waitForSelector('body[data-status^="playing"]', {
            timeout: 30_000,
          });
          await pollPage<number>(
            page,
            "clip thumbnail",
            "document.getElementById('clip-thumb-start').naturalWidth",
            (n) => n > 0,
            20_000,
          );
          // Clip export: control forwards it to the origin's archive, which cuts the file into
          // the library; the console follows the job to done.
          await page.click("#clip-go");
          await page.waitForSelector('body[data-clip="done"]', {
            timeout: 30_000,
          });
          // The name it offered ("uploads/upload clip-clip") keeps its last part.
          const clipped = await Deno.stat(
            `${w.dir}/lib/clips/vod/upload_clip/upload clip-clip.mp4`,
          );
          assert.ok(clipped.size > 0);
          await screenshot(page, "console-library-en-1366");
          promptAnswer.value = "uploads/renamed.mp4";
          await page.click(`${row} button.rename`);
          await page.waitForSelector(
            '#files tr[data-path="uploads/renamed.mp4"]',
            { timeout: 10_000 },
          );
          await page.click(
            '#files tr[data-path="uploads/renamed.mp4"] button.delete',
          );
          await page.waitForSelector(
            '#files tr[data-path="uploads/renamed.mp4"]',
            { state: "detached", timeout: 10_000 },
          );
          assert.equal(
            await Deno.stat(`${w.dir}/lib/uploads/renamed.mp4`).catch(() =>
              undefined
            ),
            undefined,
          );
        },
      );

      await t.step(
        "access: a token minted in the console opens a protected stream; search, revoke, publish keys",
        async () => {
          await openPanel(page, "access");
          await page.fill("#mint-app", "secure");
          await page.fill("#mint-duration", "120");
          await page.fill("#mint-limit", "3");
          await page.click("#mint-form button[type=submit]");
          await page.waitForSelector(
            '#mint-result:text-matches("^[A-Za-z0-9]{16}$")',
          );
          const token = await page.textContent("#mint-result") ?? "";
          const refused = await fetch(`${w.originUrl}/secure/demo.m3u8`, {
            redirect: "manual",
          });
          assert.ok(
            refused.status === 401 || refused.status === 403,
            `${refused.status}`,
          );
          await refused.body?.cancel();
          const opened = await fetch(
            `${w.originUrl}/secure/demo.m3u8?token=${token}`,
            { redirect: "manual" },
          );
          assert.equal(opened.status, 302, "the token opens a session");
          await opened.body?.cancel();
          const row = `#tokens tr[data-token="${token}"]`;
          // The session the token opened spent one use: the list shows it on its next poll.
          await pollPage<string>(
            page,
            "one use spent",
            `document.querySelector('${row}')?.textContent ?? ""`,
            (s) => /secure.*active.*1 \/ 3/s.test(s),
            10_000,
          );
          await page.fill("#token-search", token.slice(0, 10));
          assert.equal(await page.locator("#tokens tbody tr").count(), 1);
          await page.fill("#token-search", "");
          await page.click(`${row} button.revoke`);
          await page.waitForSelector(row, { state: "detached" });
          assert.equal(await w.store.getToken(token), undefined);
          await page.fill("#keys-app", "live");
          await page.fill("#keys-list", "key-one-0123\nkey-two-4567");
          await page.click("#keys-form button[type=submit]");
          await page.waitForSelector('#keys-result:has-text("saved")');
          const last = w.applied[w.applied.length - 1]!;
          assert.deepEqual(
            last.origin.apps.find((a) => a.name === "live")?.publishKeys,
            ["key-one-0123", "key-two-4567"],
          );
          assert.ok(
            !(await page.content()).includes("key-one-0123"),
            "keys never shown back",
          );
          await screenshot(page, "console-access-en-1366");
        },
      );

      await t.step(
        "edges: a purge from the console empties the edge's cache",
        async () => {
          await Deno.copyFile(demo, `${w.dir}/lib/cached.flv`);
          const get = async () => {
            const r = await fetch(`${w.edgeUrl}/vod/cached.flv`);
            await r.arrayBuffer();
            return r.headers.get("cache-status") ?? "";
          };
          await get();
          assert.match(await get(), /hit/i, "cached at the edge");
          await openPanel(page, "edges");
          await page.waitForSelector("#edges tbody tr[data-edge]", {
            timeout: 15_000,
          });
          await page.fill("#purge-urls", "/vod/cached.flv");
          await page.click("#purge-form button[type=submit]");
          await page.waitForSelector('body[data-purge="published"]');
          await waitFor(
            "the purge at the edge",
            async () => /miss|fwd=uri-miss/i.test(await get()) || undefined,
            10_000,
            100,
          );
          // Drain and undrain through the console.
          await page.click("#edges tbody tr[data-edge] button.drain");
          await waitFor(
            "drained",
            async () =>
              (await w.store.edges.snapshot(Date.now())).drains.size === 1 ||
              undefined,
          );
          await screenshot(page, "console-edges-en-1366");
          await page.click("#edges tbody tr[data-edge] button.drain");
          await waitFor(
            "undrained",
            async () =>
              (await w.store.edges.snapshot(Date.now())).drains.size === 0 ||
              undefined,
          );
        },
      );

      await t.step(
        "config: an invalid edit shows each key's error and changes nothing; a valid one applies",
        async () => {
          await openPanel(page, "config");
          await page.click('#sections button[data-section="origin"]');
          await page.fill('[name="origin.hls.windowSegments"]', "1");
          await page.fill('[name="origin.maxStreams"]', "lots");
          const before = w.applied.length;
          await page.click("#config-apply");
          await page.waitForSelector('body[data-config-result="invalid"]');
          const err1 = await page.textContent(
            '.field[data-key="origin.hls.windowSegments"] .err',
          ) ?? "";
          const err2 = await page.textContent(
            '.field[data-key="origin.maxStreams"] .err',
          ) ?? "";
          assert.match(
            err1,
            /origin\.hls\.windowSegments.*got 1, expected an integer 2\.\.1000/,
          );
          assert.match(err2, /origin\.maxStreams.*expected a number/);
          assert.equal(w.applied.length, before, "nothing applied");
          assert.equal(w.current.origin.hls.windowSegments, 6);
          await screenshot(page, "console-config-en-1366");
          await page.fill('[name="origin.maxStreams"]', "256");
          await page.fill('[name="origin.hls.windowSegments"]', "8");
          await page.click("#config-apply");
          await page.waitForSelector('body[data-config-result="applied"]');
          assert.equal(w.applied.length, before + 1);
          assert.equal(w.current.origin.hls.windowSegments, 8);
          assert.match(
            await page.textContent("#config-result") ?? "",
            /restarted: origin/,
          );
          // Secrets stay hidden and unchanged.
          assert.equal(w.current.control.adminToken, ADMIN_TOKEN);
          assert.ok(!(await page.content()).includes(ADMIN_TOKEN));
        },
      );

      await t.step(
        "every panel in English and Chinese, phone and TV sizes: no sideways scroll, no catalogue miss",
        async () => {
          for (const [vw, vh] of [[390, 844], [1920, 1080]]) {
            for (const lang of ["en", "zh"]) {
              const p = await newPage(w, {
                lang,
                viewport: { width: vw!, height: vh! },
              });
              // The sign-in page is a page too: checked and photographed before signing in.
              await signIn(p.page, w.controlUrl, async () => {
                await assertNoHorizontalScroll(
                  p.page,
                  `login ${vw}x${vh} ${lang}`,
                );
                if (lang === "zh") {
                  await assertChinese(p.page, "console sign-in");
                }
                await screenshot(p.page, `console-login-${lang}-${vw}x${vh}`);
              });
              assert.equal(
                await p.page.evaluate("document.body.dataset.lang"),
                lang,
              );
              for (const panel of PANELS) {
                await openPanel(p.page, panel);
                if (panel === "live") {
                  await p.page.waitForSelector(
                    '#streams tr[data-key="live/cam"]',
                  );
                }
                await assertNoHorizontalScroll(
                  p.page,
                  `${panel} ${vw}x${vh} ${lang}`,
                );
                if (lang === "zh") {
                  await assertChinese(p.page, `console ${panel}`);
                }
                await screenshot(
                  p.page,
                  `console-${panel}-${lang}-${vw}x${vh}`,
                );
              }
              assert.deepEqual(p.problems, [], `${lang} ${vw}`);
              await p.context.close();
            }
          }
          // The switch: Chinese at once, remembered on reload.
          await page.click("#lang");
          await page.waitForSelector('body[data-lang="zh"]');
          await assertChinese(page, "console after the switch");
          await page.reload();
          await page.waitForSelector('body[data-lang="zh"]');
          await page.waitForSelector("body[data-ready]");
          await page.waitForSelector("#app", { state: "visible" });
        },
      );

      await t.step(
        "live: kicking the publisher from the console ends ffmpeg's publish",
        async () => {
          await openPanel(page, "live");
          await page.click('#streams tr[data-key="live/cam"] button.kick');
          const status = await Promise.race([
            ffmpeg.child.status,
            new Promise<undefined>((r) =>
              setTimeout(() => r(undefined), 15_000)
            ),
          ]);
          assert.ok(
            status !== undefined,
            "ffmpeg still publishing after the kick",
          );
          await page.waitForSelector('#streams tr[data-key="live/cam"]', {
            state: "detached",
            timeout: 15_000,
          });
        },
      );

      assert.deepEqual(problems, []);
      await context.close();
    } finally {
      await ffmpeg.stop();
      await close();
    }
  },
});
