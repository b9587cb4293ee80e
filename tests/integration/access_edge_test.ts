/**
 * Access control through the edge, end to end: a real origin and a real edge (each on
 * 127.0.0.1:0, each with its own handle on one temporary KV file, as separate nodes would be),
 * ffmpeg publishing over RTMP to the origin, ffmpeg/ffprobe and fetch playing through the edge.
 *
 * What it proves: the protection an app has on the origin holds through the edge's cache and
 * its shared live HTTP-FLV upstreams, and an open app still plays (and is cached) with no token.
 */
import assert from "node:assert/strict";
import { generateToken, signSession } from "../../access/mod.ts";
import { parseConfig } from "../../config/mod.ts";
import { loadSessionKey } from "../../access/mod.ts";
import type { EdgeHandle } from "../../edge/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import { KvStore } from "../../store/mod.ts";
import { edgeConfig, startTestEdge } from "../edge/_helpers/fixtures.ts";
import { captureLogger } from "../origin/auth/_fixture.ts";
import {
  type BackgroundPeer,
  hasBinary,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

interface Cluster {
  readonly origin: OriginHandle;
  readonly edge: EdgeHandle;
  /** `http://127.0.0.1:{edge port}` */
  readonly viaEdge: string;
  readonly originMetrics: MetricsRegistry;
  /** The "control node": its own handle on the shared KV file. */
  readonly control: KvStore;
  readonly logs: string[];
  /** Mints a token for `app` straight into the store (as `/gettoken` would). */
  mint(app: string | null, maxUses: number): Promise<string>;
}

/**
 * Starts origin (app `live` needs tokens, `free` is open) and edge on one KV file, publishes
 * `{app}/cam` with ffmpeg for each app in `publish`, runs `fn`, then stops everything.
 */
async function withCluster(
  publish: string[],
  fn: (c: Cluster) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian_access_edge_" });
  const kv = `${dir}/m.kv`;
  const originStore = await KvStore.open(kv, { pollIntervalMs: 100 });
  const edgeStore = await KvStore.open(kv, { pollIntervalMs: 100 });
  const control = await KvStore.open(kv, { pollIntervalMs: 100 });
  const { log, lines } = captureLogger();
  const originMetrics = new MetricsRegistry();
  const peers: BackgroundPeer[] = [];
  let origin: OriginHandle | undefined;
  let edge: EdgeHandle | undefined;
  try {
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        apps: [{ name: "live", access: "token" }],
      },
      auth: {},
    });
    origin = await startOrigin(config.origin, {
      log: log.child("origin"),
      metrics: originMetrics,
      store: originStore,
      auth: config.auth,
    });
    edge = await startTestEdge(
      edgeConfig([`http://127.0.0.1:${origin.httpPort}`]),
      { log: log.child("edge"), store: edgeStore, auth: config.auth },
    );
    for (const app of publish) {
      peers.push(startPeer(
        "ffmpeg",
        publishArgs(`rtmp://127.0.0.1:${origin.rtmpPort}/${app}/cam`, 60),
        70_000,
      ));
    }
    await fn({
      origin,
      edge,
      viaEdge: `http://127.0.0.1:${edge.port}`,
      originMetrics,
      control,
      logs: lines,
      async mint(app, maxUses) {
        const token = generateToken();
        const now = Date.now();
        await control.createToken({
          token,
          app,
          createdAtMs: now,
          expiresAtMs: now + 3_600_000,
          maxUses,
        });
        return token;
      },
    });
  } finally {
    for (const p of peers) await p.stop();
    await edge?.close();
    await origin?.close();
    await control.close();
    await edgeStore.close();
    await originStore.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function fetchStatus(
  url: string,
): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(url, { redirect: "manual" });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Origin requests by kind and status (its own counter). */
function originCount(c: Cluster, kind: string, status: number): number {
  const m = c.originMetrics.render().match(
    new RegExp(
      `meridian_origin_http_requests_total\\{kind="${kind}",status="${status}"\\} (\\d+)`,
    ),
  );
  return m ? Number(m[1]) : 0;
}

/** Waits until the stream's playlist exists (a protected one answers 401, an open one 200). */
async function playlistReady(url: string, expect: number): Promise<void> {
  await waitFor(
    `playlist ${url}`,
    async () => {
      const r = await fetchStatus(url);
      // At least two segments, so players have something to fetch at once.
      if (r.status !== expect) return undefined;
      return expect !== 200 || (r.body.match(/\.ts/g)?.length ?? 0) >= 2
        ? true
        : undefined;
    },
    30_000,
    200,
  );
}

/** Opens an HLS session through the edge: the 302 location (with `cred`). */
async function openSession(c: Cluster, token: string): Promise<string> {
  const r = await fetch(`${c.viaEdge}/live/cam.m3u8?token=${token}`, {
    redirect: "manual",
  });
  await r.body?.cancel();
  assert.equal(r.status, 302);
  return r.headers.get("location")!;
}

function segmentsOf(playlist: string): string[] {
  return playlist.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

Deno.test({
  name:
    "access via edge: HLS limit=1 plays one session, a second is refused, cached segments need a genuine credential",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCluster(["live"], async (c) => {
      await playlistReady(`${c.viaEdge}/live/cam.m3u8`, 401);
      // Enough segments for ffmpeg to play a few seconds at once.
      await new Promise((r) => setTimeout(r, 4_000));

      const token = await c.mint("live", 1);
      const play = await runPeer("ffmpeg", [
        "-v",
        "error",
        "-rw_timeout",
        "10000000",
        "-i",
        `${c.viaEdge}/live/cam.m3u8?token=${token}`,
        "-t",
        "6",
        "-f",
        "null",
        "-",
      ], 40_000);
      assert.equal(play.code, 0, play.stderr);
      assert.equal((await c.control.getToken(token))?.usesSpent, 1);
      assert.equal(originCount(c, "m3u8", 302), 1, "one session opened");
      assert.ok(
        c.edge.stats.outcomes.miss + c.edge.stats.outcomes.hit >= 4,
        `playlist reloads and segments through the edge: ${
          JSON.stringify(c.edge.stats.outcomes)
        }`,
      );
      assert.ok(originCount(c, "ts", 200) >= 2, "segments came through");

      // The same token again: refused (403), by ffprobe too.
      const again = await fetchStatus(
        `${c.viaEdge}/live/cam.m3u8?token=${token}`,
      );
      assert.equal(again.status, 403);
      assert.equal(again.body, "Access token has no uses left");
      const probe = await runPeer("ffprobe", [
        "-v",
        "error",
        `${c.viaEdge}/live/cam.m3u8?token=${token}`,
      ], 20_000);
      assert.notEqual(probe.code, 0);
      assert.match(probe.stderr, /403/);

      // A second viewer's session: its playlist carries its own credential (cached playlist
      // re-credentialed per viewer), never the first session's.
      const other = await c.mint("live", 0);
      const location = await openSession(c, other);
      const cred = new URL(location, c.viaEdge).searchParams.get("cred")!;
      const pl = await fetchStatus(`${c.viaEdge}${location}`);
      assert.equal(pl.status, 200);
      assert.equal(pl.headers.get("x-meridian-access"), "token");
      assert.match(pl.headers.get("cache-control")!, /private/);
      const segs = segmentsOf(pl.body);
      assert.ok(segs.length >= 2, pl.body);
      for (const s of segs) assert.ok(s.endsWith(`?cred=${cred}`), s);

      // A segment of the live window (cached at the edge by now, as the first session's were).
      const seg = segs[0]!;
      const segUrl = `${c.viaEdge}/live/${seg}`;
      const first = await fetchStatus(segUrl);
      assert.equal(first.status, 200);
      const hit = await fetchStatus(segUrl);
      assert.equal(hit.status, 200);
      assert.equal(hit.headers.get("x-cache"), "HIT", "segment cached");
      const tsBefore = originCount(c, "ts", 401) + originCount(c, "ts", 403);

      // Copied without its credential: 401 from the edge itself, the origin not asked.
      const bare = segUrl.replace(/\?.*$/, "");
      const noCred = await fetchStatus(bare);
      assert.equal(noCred.status, 401);
      assert.match(noCred.headers.get("cache-status")!, /access-refused/);
      assert.equal(noCred.body.length < 100, true, "no media in the refusal");
      assert.equal((await fetchStatus(`${bare}?token=${other}`)).status, 401);

      // Forged, expired, for another stream, garbage: 403 from the edge.
      const key = await loadSessionKey({ sessionSecret: "" }, c.control);
      const creds = [
        await signSession({
          pathPrefix: "/live/cam/",
          expiresAtMs: Date.now() + 60_000,
        }, "not-the-shared-secret-0123456789abcdef"),
        await signSession({
          pathPrefix: "/live/cam/",
          expiresAtMs: Date.now() - 1_000,
        }, key),
        await signSession({
          pathPrefix: "/free/cam/",
          expiresAtMs: Date.now() + 60_000,
        }, key),
        "x.y",
      ];
      for (const bad of creds) {
        const r = await fetchStatus(`${bare}?cred=${bad}`);
        assert.equal(r.status, 403, bad);
        assert.match(r.headers.get("cache-status")!, /access-refused/);
        assert.equal(
          (await fetchStatus(`${c.viaEdge}/live/cam.m3u8?cred=${bad}`)).status,
          403,
        );
      }
      assert.equal(
        originCount(c, "ts", 401) + originCount(c, "ts", 403),
        tsBefore,
        "refused at the edge, not forwarded",
      );
      // The cached playlist is not served without a credential or token either.
      const plBare = await fetchStatus(`${c.viaEdge}/live/cam.m3u8`);
      assert.equal(plBare.status, 401);

      // A genuine credential of the shared key, signed by no origin, works at the edge: the
      // edge verifies locally with the key origin and edge share through the store.
      const local = await signSession({
        pathPrefix: "/live/cam/",
        expiresAtMs: Date.now() + 60_000,
      }, key);
      assert.equal((await fetchStatus(`${bare}?cred=${local}`)).status, 200);

      // The playlist is cached once without credentials and re-credentialed per viewer: two
      // viewers back to back, the second (at least) from the cache, each with its own.
      const plA = await fetchStatus(`${c.viaEdge}/live/cam.m3u8?cred=${cred}`);
      const plB = await fetchStatus(`${c.viaEdge}/live/cam.m3u8?cred=${local}`);
      assert.ok(
        plA.headers.get("x-cache") === "HIT" ||
          plB.headers.get("x-cache") === "HIT",
        "playlist served from the cache",
      );
      for (const [p, own] of [[plA, cred], [plB, local]] as const) {
        assert.equal(p.status, 200);
        for (const s of segmentsOf(p.body)) {
          assert.ok(s.endsWith(`?cred=${own}`));
        }
      }

      // Revoking the second viewer's token ends its session at the edge too (the feed).
      await c.control.revokeToken(other, Date.now());
      await waitFor(
        "revoked credential refused by the edge",
        async () => (await fetchStatus(segUrl)).status === 403 || undefined,
        2_000,
        50,
      );
      assert.ok(!c.logs.join("\n").includes(token), "tokens never logged");
    });
  },
});

Deno.test({
  name:
    "access via edge: HTTP-FLV joiners of a shared upstream need their own token; the first viewer plays on",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCluster(["live"], async (c) => {
      await playlistReady(`${c.viaEdge}/live/cam.m3u8`, 401);
      const flv = `${c.viaEdge}/live/cam.flv`;
      const t1 = await c.mint("live", 1);
      const first = await fetch(`${flv}?token=${t1}`);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("x-cache"), "MISS", "opened the upstream");
      const reader = first.body!.getReader();
      let firstBytes = 0;
      const reading = (async () => {
        try {
          for (;;) {
            const r = await reader.read();
            if (r.done) break;
            firstBytes += r.value.byteLength;
          }
        } catch {
          // cancelled at the end of the test
        }
      })();
      await waitFor("first viewer media", () => firstBytes > 0 || undefined);

      // Joining the shared upstream: no token, a spent one, garbage, a wrong app.
      const noToken = await fetchStatus(flv);
      assert.equal(noToken.status, 401);
      assert.equal(noToken.body, "Access token required");
      assert.equal((await fetchStatus(`${flv}?token=${t1}`)).status, 403);
      assert.equal((await fetchStatus(`${flv}?token=junk`)).status, 403);
      const wrongApp = await c.mint("free", 0);
      assert.equal((await fetchStatus(`${flv}?token=${wrongApp}`)).status, 403);
      assert.equal(
        originCount(c, "flv", 200),
        1,
        "one upstream, refusals at the edge",
      );

      // A fresh token joins, spends its one use, and shares the upstream (a hit).
      const t2 = await c.mint("live", 1);
      const second = await fetch(`${flv}?token=${t2}`);
      assert.equal(second.status, 200);
      assert.equal(second.headers.get("x-cache"), "HIT");
      assert.equal((await c.control.getToken(t2))?.usesSpent, 1);
      assert.equal((await fetchStatus(`${flv}?token=${t2}`)).status, 403);
      const r2 = second.body!.getReader();
      assert.ok(!(await r2.read()).done);

      // Revoking the joiner's token ends that viewer only.
      await c.control.revokeToken(t2, Date.now());
      let ended = false;
      const drain = (async () => {
        try {
          while (!(await r2.read()).done) { /* until cut off */ }
        } catch {
          // cut off with an error
        }
        ended = true;
      })();
      await waitFor("joiner cut off", () => ended || undefined, 2_000, 20);
      await drain;
      const before = firstBytes;
      await waitFor(
        "first viewer keeps playing",
        () => firstBytes > before + 10_000 || undefined,
        5_000,
      );
      assert.equal(c.edge.fanout.viewerCount, 1);
      await reader.cancel();
      await reading;
    });
  },
});

Deno.test({
  name:
    "access via edge: an open app plays with no token, from the cache, with no access mark",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCluster(["free"], async (c) => {
      await playlistReady(`${c.viaEdge}/free/cam.m3u8`, 200);
      const play = await runPeer("ffmpeg", [
        "-v",
        "error",
        "-rw_timeout",
        "10000000",
        "-i",
        `${c.viaEdge}/free/cam.m3u8`,
        "-t",
        "4",
        "-f",
        "null",
        "-",
      ], 30_000);
      assert.equal(play.code, 0, play.stderr);
      const pl = await fetchStatus(`${c.viaEdge}/free/cam.m3u8`);
      assert.equal(pl.status, 200);
      assert.equal(pl.headers.get("x-meridian-access"), null);
      const seg = `${c.viaEdge}/free/${segmentsOf(pl.body)[0]}`;
      await fetchStatus(seg);
      const hit = await fetchStatus(seg);
      assert.equal(hit.status, 200);
      assert.equal(hit.headers.get("x-cache"), "HIT");
      assert.equal(hit.headers.get("x-meridian-access"), null);
      assert.ok(c.edge.stats.outcomes.hit >= 1);

      // HTTP-FLV: two viewers, no token, one upstream.
      const a = await fetch(`${c.viaEdge}/free/cam.flv`);
      const b = await fetch(`${c.viaEdge}/free/cam.flv`);
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      assert.equal(b.headers.get("x-cache"), "HIT");
      assert.equal(b.headers.get("x-meridian-access"), null);
      for (const res of [a, b]) {
        const r = res.body!.getReader();
        assert.ok(!(await r.read()).done);
        await r.cancel();
      }
    });
  },
});
