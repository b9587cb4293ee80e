/**
 * End to end through the store: a real origin (virtual-live channel, ports 0) announces its
 * streams into the stream directory, and the control role's `GET /admin/streams` lists them.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { ADMIN_TOKEN, withControlApp } from "./_control_app.ts";

const demo = new URL("../../media/demo.flv", import.meta.url).pathname;
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

Deno.test("GET /admin/streams lists a live origin's streams from the directory, and drops them when it stops", async () => {
  await withControlApp(async (f) => {
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
      store: f.store,
    });
    let closed = false;
    try {
      type Listed = {
        key: string;
        originId: string;
        bytesIn: number;
        urls: { hls: string; player: string };
      };
      let streams: Listed[] = [];
      const poll = async () => {
        f.clock.now = Date.now();
        const res = await f.request("/admin/streams", { headers: auth });
        streams = (await res.json()).streams;
      };
      const start = Date.now();
      while (!streams.some((s) => s.key === "live/demo")) {
        if (Date.now() - start > 5000) throw new Error("live/demo not listed");
        await poll();
        await new Promise((r) => setTimeout(r, 50));
      }
      const s = streams.find((x) => x.key === "live/demo")!;
      assert.equal(s.originId, `127.0.0.1:${origin.httpPort}`);
      assert.equal(
        s.urls.hls,
        `http://127.0.0.1:${origin.httpPort}/live/demo.m3u8`,
      );
      // The listed URL really plays from that origin.
      let hls: Response | undefined;
      for (let i = 0; i < 100 && hls?.status !== 200; i++) {
        await hls?.body?.cancel();
        hls = await fetch(s.urls.hls);
        if (hls.status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(hls?.status, 200);
      assert.match(await hls!.text(), /^#EXTM3U/);
      await origin.close();
      closed = true;
      await poll();
      assert.deepEqual(streams, []);
    } finally {
      if (!closed) await origin.close();
    }
  });
});
