/**
 * `/api/resume` in process: round trip through a real KV store, the viewer id never stored as
 * given, bad input refused with 400, writes limited per client, a failed store is 503.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { silentLogger } from "../../../log/mod.ts";
import {
  createResumeApi,
  MAX_VIDEO_KEY_CHARS,
  MAX_VIEWER_ID_CHARS,
  parseResumeBody,
} from "../../../net/mod.ts";
import {
  RESUME_WRITE_BURST,
  RESUME_WRITES_PER_SECOND,
} from "../../../net/http/resume_api.ts";
import { KvStore } from "../../../store/mod.ts";
import { createPrng } from "../../_helpers/prng.ts";

async function withApp(
  fn: (
    app: Hono,
    ctx: { path: string; store: KvStore; tick: (ms: number) => void },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian_resume_" });
  const path = `${dir}/m.kv`;
  const store = await KvStore.open(path);
  let now = 1_700_000_000_000;
  const app = new Hono().route(
    "/",
    createResumeApi({ store, log: silentLogger, clock: () => now }),
  );
  try {
    await fn(app, { path, store, tick: (ms) => void (now += ms) });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const url = (viewer: string, video: string) =>
  `http://localhost/api/resume?${new URLSearchParams({ viewer, video })}`;
const put = (app: Hono, u: string, body: string) =>
  app.request(u, {
    method: "PUT",
    body,
    headers: { "Content-Type": "application/json" },
  });

Deno.test("resume api: PUT then GET returns the position; DELETE forgets it; another viewer sees none", async () => {
  await withApp(async (app) => {
    const u = url("viewer@example.com", "vod/films/影.mp4");
    assert.equal((await app.request(u)).status, 404);
    const w = await put(
      app,
      u,
      '{"positionSeconds":61.5,"durationSeconds":120}',
    );
    assert.equal(w.status, 204);
    const r = await app.request(u);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.deepEqual(await r.json(), {
      positionSeconds: 61.5,
      durationSeconds: 120,
      updatedAt: new Date(1_700_000_000_000).toISOString(),
    });
    const other = await app.request(url("someone-else", "vod/films/影.mp4"));
    assert.equal(other.status, 404);
    await other.body?.cancel();
    assert.equal((await app.request(u, { method: "DELETE" })).status, 204);
    const gone = await app.request(u);
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
  });
});

Deno.test("resume api: the store holds an HMAC of the viewer id, never the id", async () => {
  await withApp(async (app, { path }) => {
    const viewer = "alice.person@example.com";
    await put(app, url(viewer, "vod/a.mp4"), '{"positionSeconds":5}');
    const kv = await Deno.openKv(path);
    try {
      const keys: string[] = [];
      for await (const e of kv.list({ prefix: ["resume"] })) {
        keys.push(JSON.stringify(e.key));
      }
      assert.equal(keys.length, 1);
      assert.ok(!keys[0]!.includes("alice"), keys[0]);
      assert.match(keys[0]!, /"[0-9a-f]{64}"/);
    } finally {
      kv.close();
    }
  });
});

Deno.test("resume api: bad queries and bodies are 400 and write nothing", async () => {
  await withApp(async (app, { store }) => {
    const cases: [string, string | undefined][] = [
      ["http://localhost/api/resume?video=vod/a.mp4", undefined],
      ["http://localhost/api/resume?viewer=v", undefined],
      [url("v".repeat(MAX_VIEWER_ID_CHARS + 1), "vod/a.mp4"), undefined],
      [url("has space", "vod/a.mp4"), undefined],
      [url("v", "k".repeat(MAX_VIDEO_KEY_CHARS + 1)), undefined],
      [url("v", "a\nb"), undefined],
      [url("v", "vod/a.mp4"), "not json"],
      [url("v", "vod/a.mp4"), '{"positionSeconds":-1}'],
      [url("v", "vod/a.mp4"), '{"positionSeconds":"12"}'],
      [url("v", "vod/a.mp4"), '{"positionSeconds":1e30}'],
      [url("v", "vod/a.mp4"), '{"positionSeconds":1,"who":"me"}'],
      [url("v", "vod/a.mp4"), "[1,2]"],
    ];
    for (const [u, body] of cases) {
      const res = body === undefined
        ? await app.request(u)
        : await put(app, u, body);
      assert.equal(res.status, 400, `${u} ${body}`);
      assert.match(await res.text(), /Invalid /);
    }
    const big = await put(
      app,
      url("v", "vod/a.mp4"),
      `{"positionSeconds":1,"durationSeconds":2${" ".repeat(400)}}`,
    );
    assert.equal(big.status, 413);
    await big.body?.cancel();
    assert.equal(await store.resume.get("v", "vod/a.mp4"), undefined);
    const none = await app.request(url("v", "vod/a.mp4"));
    assert.equal(none.status, 404);
    await none.body?.cancel();
  });
});

Deno.test("parseResumeBody() either returns two numbers in range or a message (seeded fuzz)", () => {
  const next = createPrng(17);
  const atoms = [
    "0",
    "-0",
    "1.5",
    "-3",
    "1e308",
    "604800",
    "604801",
    '"x"',
    "null",
    "true",
    "[]",
    "{}",
  ];
  for (let i = 0; i < 2000; i++) {
    const fields: string[] = [];
    for (const k of ["positionSeconds", "durationSeconds", "other"]) {
      if (next() % 3 !== 0) {
        fields.push(`"${k}":${atoms[next() % atoms.length]}`);
      }
    }
    const text = `{${fields.join(",")}}`;
    const r = parseResumeBody(JSON.parse(text));
    if (typeof r === "string") {
      assert.match(r, /^Invalid resume position: /, text);
      continue;
    }
    for (const v of [r.positionSeconds, r.durationSeconds]) {
      assert.ok(Number.isFinite(v) && v >= 0 && v <= 604_800, text);
    }
  }
});

Deno.test("resume api: one client's writes are limited (burst, then a steady rate); reads are not", async () => {
  await withApp(async (app, { tick }) => {
    const u = url("v", "vod/a.mp4");
    for (let i = 0; i < RESUME_WRITE_BURST; i++) {
      assert.equal((await put(app, u, '{"positionSeconds":1}')).status, 204);
    }
    const refused = await put(app, u, '{"positionSeconds":1}');
    assert.equal(refused.status, 429);
    await refused.body?.cancel();
    const read = await app.request(u);
    assert.equal(read.status, 200);
    await read.body?.cancel();
    tick(1000 / RESUME_WRITES_PER_SECOND);
    assert.equal((await put(app, u, '{"positionSeconds":2}')).status, 204);
  });
});

Deno.test("resume api: a store that fails answers 503, not 500 or a crash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian_resume_" });
  const store = await KvStore.open(`${dir}/m.kv`);
  const app = new Hono().route(
    "/",
    createResumeApi({ store, log: silentLogger }),
  );
  await store.close();
  try {
    const res = await app.request(url("v", "vod/a.mp4"));
    assert.equal(res.status, 503);
    assert.match((await res.json()).error, /unavailable/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
