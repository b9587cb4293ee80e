/**
 * A protected library through an edge: a token at the edge opens one session at the origin
 * (302 to a credential URL), the edge caches the file's bytes with the origin's access mark and
 * checks each viewer's credential on a hit (no store round trip), and refuses viewers without
 * one or with another file's.
 */
import assert from "node:assert/strict";
import { generateToken } from "../../access/mod.ts";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { startOrigin } from "../../origin/mod.ts";
import { KvStore } from "../../store/mod.ts";
import { hasBinary, runPeer, waitFor } from "../_helpers/peers.ts";
import { edgeConfig, startTestEdge } from "../edge/_helpers/fixtures.ts";
import { silentLogger } from "../../log/mod.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

Deno.test({
  name:
    "vod access through an edge: token → 302 → credential; cached bytes checked per viewer; no credential or another file's refused",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-vodedge-" });
    const lib = `${dir}/lib`;
    await Deno.mkdir(lib);
    const made = await runPeer("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=160x120:rate=25",
      "-f",
      "lavfi",
      "-i",
      "sine",
      "-t",
      "4",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-g",
      "50",
      "-c:a",
      "aac",
      "-movflags",
      "+faststart",
      `${lib}/a.mp4`,
    ]);
    assert.equal(made.code, 0, made.stderr);
    await Deno.copyFile(`${lib}/a.mp4`, `${lib}/b.mp4`);
    const kv = `${dir}/m.kv`;
    const stores = await Promise.all(
      [0, 1, 2].map(() => KvStore.open(kv, { pollIntervalMs: 100 })),
    );
    const [originStore, edgeStore, control] = stores as [
      KvStore,
      KvStore,
      KvStore,
    ];
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        apps: [{ name: "vod", access: "token" }],
        vod: { libraries: [{ path: lib, prefix: "/vod/" }] },
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
      store: originStore,
      auth: config.auth,
    });
    const edge = await startTestEdge(
      edgeConfig([`http://127.0.0.1:${origin.httpPort}`]),
      { log: silentLogger, store: edgeStore, auth: config.auth },
    );
    const base = `http://127.0.0.1:${edge.port}`;
    const get = (u: string, init: RequestInit = {}) =>
      fetch(`${base}${u}`, { redirect: "manual", ...init });
    const status = async (u: string, init?: RequestInit) => {
      const r = await get(u, init);
      await r.body?.cancel();
      return r.status;
    };
    try {
      const token = generateToken();
      await control.createToken({
        token,
        app: "vod",
        createdAtMs: Date.now(),
        expiresAtMs: Date.now() + 3_600_000,
        maxUses: 1,
      });
      assert.equal(await status("/vod/a.mp4"), 401);
      const first = await get(`/vod/a.mp4?token=${token}`);
      assert.equal(first.status, 302);
      const location = first.headers.get("location")!;
      const cred = new URL(location, base).searchParams.get("cred")!;
      assert.ok(cred && !location.includes(token));
      const q = `cred=${encodeURIComponent(cred)}`;
      const a1 = await get(`/vod/a.mp4?${q}`, {
        headers: { Range: "bytes=0-999" },
      });
      assert.equal(a1.status, 206);
      assert.equal(a1.headers.get("x-meridian-access"), "file");
      const bytes1 = new Uint8Array(await a1.arrayBuffer());
      // The fill completes in the background: the next requests are hits, checked per viewer.
      const a2 = await waitFor(
        "a cache hit",
        async () => {
          const r = await get(`/vod/a.mp4?${q}`, {
            headers: { Range: "bytes=0-999" },
          });
          const body = new Uint8Array(await r.arrayBuffer());
          return r.headers.get("x-cache") === "HIT" ? { r, body } : undefined;
        },
        5000,
        50,
      );
      assert.equal(a2.r.status, 206);
      assert.deepEqual(a2.body, bytes1);
      // The cached object keeps its protection: no credential, a junk one, or another file's.
      assert.equal(
        await status("/vod/a.mp4", { headers: { Range: "bytes=0-999" } }),
        401,
      );
      assert.equal(await status("/vod/a.mp4?cred=junk"), 403);
      assert.equal(await status(`/vod/b.mp4?${q}`), 403);
      // A new viewer's token on the cached file is sent to the origin to open its session.
      const second = generateToken();
      await control.createToken({
        token: second,
        app: "vod",
        createdAtMs: Date.now(),
        expiresAtMs: Date.now() + 3_600_000,
        maxUses: 1,
      });
      assert.equal(await status(`/vod/a.mp4?token=${second}`), 302);
      // ffprobe plays the file through the edge with the credential.
      const p = await runPeer("ffprobe", [
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name",
        "-of",
        "csv=p=0",
        `${base}/vod/a.mp4?${q}`,
      ]);
      assert.deepEqual(
        p.stdout.trim().split("\n").sort(),
        ["aac", "h264"],
        p.stderr,
      );
    } finally {
      await edge.close();
      await origin.close();
      for (const s of stores) await s.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
