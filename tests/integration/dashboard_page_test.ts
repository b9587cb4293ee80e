/**
 * The routing dashboard in a real browser: headless Chromium (Debian's) driven by
 * playwright-core opens `/dashboard` of a real scheduler (ports 0, edges from config, one tiny
 * `/healthz` server for the edges that are up), sees the edge rows and the SVG map with edge
 * markers, then watches the counters, the routing table and the map's arcs update after DNS
 * queries with ECS from several countries.
 *
 * Set `MERIDIAN_DASHBOARD_SCREENSHOT=/path.png` to keep a screenshot of the page.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { encodeEcsQuery } from "../../scheduler/dns/packet.ts";
import { startScheduler } from "../../scheduler/mod.ts";
import { EDGES, GEO, testConfig } from "../scheduler/_fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!haveChromium) {
  console.warn(`SKIP dashboard page test: no Chromium at ${CHROMIUM}`);
}
const SCREENSHOT = Deno.env.get("MERIDIAN_DASHBOARD_SCREENSHOT");

// Flags from the machine notes: no sandbox as root, and no background networking.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** An A query for `name` carrying ECS `subnet` (RFC 7871 §6). */
function query(name: string, subnet: string): Uint8Array {
  return encodeEcsQuery(name, "A", subnet, 99);
}

/** Sends `count` queries over one UDP socket and waits for every answer. */
async function ask(
  port: number,
  q: Uint8Array,
  count: number,
): Promise<void> {
  const sock = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (let i = 0; i < count; i++) {
      await sock.send(q, { transport: "udp", hostname: "127.0.0.1", port });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("No DNS answer")), 2000);
      });
      await Promise.race([sock.receive(), timeout]);
      clearTimeout(timer);
    }
  } finally {
    clearTimeout(timer);
    sock.close();
  }
}

Deno.test({
  name:
    "dashboard page: Chromium shows edges, the routing map and live DNS counters",
  ignore: !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // fra1 and iad1 answer /healthz; sin1's target is a port nobody listens on.
    const healthz = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response("ok\n"),
    );
    const up = `http://127.0.0.1:${(healthz.addr as Deno.NetAddr).port}`;
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const config = testConfig({
      edges: EDGES.map((e) => ({
        ...e,
        healthUrl: e.id === "sin1"
          ? `http://127.0.0.1:${deadPort}/healthz`
          : `${up}/healthz?edge=${e.id}`,
      })),
    });
    const scheduler = await startScheduler(config, { geo: GEO });
    const base = `http://127.0.0.1:${scheduler.httpPort}`;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ARGS,
      timeout: 30_000,
    });
    const external: string[] = [];
    try {
      const page = await browser.newPage({
        viewport: { width: 1400, height: 1100 },
      });
      page.on("request", (r) => {
        const url = r.url();
        if (/^(https?|wss?):/.test(url) && !url.startsWith(`${base}/`)) {
          external.push(url);
        }
      });
      await page.goto(`${base}/dashboard`);
      await page.waitForSelector(
        '#edges tr[data-edge="fra1"][data-state="up"]',
        {
          timeout: 15_000,
        },
      );
      assert.equal(
        await page.textContent('#edges tr[data-edge="sin1"] td:nth-child(4)'),
        "down",
      );
      assert.equal(
        await page.textContent('#edges tr[data-edge="fra1"] td:nth-child(7)'),
        "–",
        "config edges have no hit ratio",
      );
      // The map: land outline, and one marker per edge coloured by state.
      assert.ok(await page.$("#map path.land"));
      assert.ok(await page.$('#map circle.edge.up[data-edge="fra1"]'));
      assert.ok(await page.$('#map circle.edge.down[data-edge="sin1"]'));
      assert.equal(await page.textContent("#dns-total"), "0");
      const polls = Number(
        await page.evaluate("document.body.dataset.polls"),
      );

      // Queries from London, Virginia-bound Mountain View, Sydney and Beijing.
      const name = "tv.cdn.meridian.test";
      await ask(scheduler.dnsPort, query(name, "81.2.69.0/24"), 6);
      await ask(scheduler.dnsPort, query(name, "8.8.8.0/24"), 4);
      await ask(scheduler.dnsPort, query(name, "1.1.1.0/24"), 2);
      await ask(scheduler.dnsPort, query(name, "122.11.0.0/24"), 2);
      await ask(scheduler.dnsPort, query(name, "200.1.0.0/24"), 1);

      // The next poll shows them without a reload.
      await page.waitForFunction(
        "document.getElementById('dns-total')?.textContent === '15'",
        undefined,
        { timeout: 10_000 },
      );
      assert.ok(
        Number(await page.evaluate("document.body.dataset.polls")) > polls,
      );
      await page.waitForSelector('#routes tr[data-route="GB>fra1"]');
      assert.match(
        await page.textContent('#routes tr[data-route="GB>fra1"]') ?? "",
        /GB EU\s*fra16\s*40\.0%/,
      );
      assert.ok(await page.$('#routes tr[data-route="US>iad1"]'));
      assert.ok(await page.$('#routes tr[data-route="AU>iad1"]'));
      assert.ok(await page.$('#map path.arc[data-route="GB>fra1"]'));
      assert.ok(await page.$('#map circle.client[data-region="CN"]'));
      // Answers by carrier (as isp_match decisions count them) and the on-net share.
      const beijing = GEO.lookup("122.11.0.1");
      scheduler.handler.routing.route(beijing, "sin1", {
        name: "unicom",
        onNet: true,
      }).queries += 3;
      scheduler.handler.routing.route(beijing, "sin1", {
        name: "telecom",
        onNet: false,
      }).queries += 1;
      await page.waitForSelector('#carriers tr[data-carrier="unicom"]', {
        timeout: 10_000,
      });
      assert.match(
        await page.textContent('#carriers tr[data-carrier="unicom"]') ?? "",
        /unicom\s*3\s*3\s*100\.0%/,
      );
      assert.match(
        await page.textContent('#carriers tr[data-carrier="telecom"]') ?? "",
        /telecom\s*1\s*0\s*0\.0%/,
      );
      assert.equal(
        await page.textContent("#carriers-summary"),
        "75.0% on-net of 4",
      );
      assert.equal(await page.textContent("#dns-ecs"), "100.0%");
      assert.match(await page.textContent("#rcodes") ?? "", /NOERROR 15/);
      assert.match(await page.textContent("#scopes") ?? "", /\/24/);

      // The explain box still works.
      await page.fill("#ex input", "81.2.69.0/24");
      await page.click("#ex button");
      await page.waitForFunction(
        "document.getElementById('exout').textContent.includes('answer:')",
      );

      const png = await page.screenshot({ fullPage: true });
      assert.ok(png.byteLength > 10_000);
      if (SCREENSHOT) await Deno.writeFile(SCREENSHOT, png);
      assert.deepEqual(external, []);
    } finally {
      await browser.close();
      await scheduler.close();
      await healthz.shutdown();
    }
  },
});
