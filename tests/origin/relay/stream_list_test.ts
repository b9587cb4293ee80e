import assert from "node:assert/strict";
import { silentLogger } from "../../../origin/log.ts";
import {
  parseListing,
  parseUpstreams,
  RELAY_SECRET_HEADER,
  UpstreamStreamList,
} from "../../../origin/relay/mod.ts";
import type { ListedStream } from "../../../origin/relay/stream_list.ts";
import type { OriginListing, StreamDirectory } from "../../../store/mod.ts";
import { createPrng } from "../../_helpers/prng.ts";

const [A, B, R] = parseUpstreams([
  { url: "http://a.test:8090", apiUrl: "", apps: [] },
  { url: "rtmp://b.test:1935", apiUrl: "http://b.test:8090", apps: ["live"] },
  { url: "rtmp://r.test:1935", apiUrl: "", apps: [] },
]);

/** A fake upstream world: what each list URL answers now, and the requests seen. */
function world(start: Record<string, ListedStream[] | Error | string>) {
  const answers = { ...start };
  const seen: { url: string; secret: string | null }[] = [];
  const fakeFetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    seen.push({
      url,
      secret: new Headers(init?.headers).get(RELAY_SECRET_HEADER),
    });
    const base = new URL(url).origin;
    const a = answers[base];
    if (a instanceof Error) return Promise.reject(a);
    if (typeof a === "string") {
      return Promise.resolve(new Response(a, { status: 200 }));
    }
    return Promise.resolve(
      Response.json({ nodeId: base, streams: a ?? [] }),
    );
  }) as typeof fetch;
  return { answers, seen, fetch: fakeFetch };
}

const entry = (app: string, name: string, ...path: string[]) => ({
  app,
  name,
  path,
});

function list(
  w: ReturnType<typeof world>,
  clock: { now: number },
  upstreams = [A!, B!],
) {
  return new UpstreamStreamList(upstreams, {
    mode: "upstream",
    intervalMs: 1000,
    secret: "s".repeat(20),
    nodeId: "me",
  }, { log: silentLogger, fetch: w.fetch, now: () => clock.now });
}

Deno.test("UpstreamStreamList.has(): listed is true, a miss after a fresh look is false, and the lists carry the secret and our id", async () => {
  const clock = { now: 10_000 };
  const w = world({
    "http://a.test:8090": [entry("live", "cam", "a")],
    "http://b.test:8090": [entry("live", "other", "top", "b")],
  });
  const l = list(w, clock);
  await l.refresh();
  assert.equal(await l.has("live", "cam", [A!, B!]), true);
  assert.equal(await l.has("live", "other", [A!, B!]), true);
  const before = w.seen.length;
  // Both lists are younger than MIN_REFRESH_MS: a miss is decided without asking again.
  assert.equal(await l.has("live", "nope", [A!, B!]), false);
  assert.equal(w.seen.length, before);
  assert.ok(w.seen.every((s) => s.secret === "s".repeat(20)));
  assert.match(
    w.seen[0]!.url,
    /\/api\/relay\/streams\?relayHops=1&relayVia=me$/,
  );
});

Deno.test("UpstreamStreamList.has(): a stream published since the last poll is found by one re-check", async () => {
  const clock = { now: 10_000 };
  const w = world({ "http://a.test:8090": [], "http://b.test:8090": [] });
  const l = list(w, clock);
  await l.refresh();
  w.answers["http://a.test:8090"] = [entry("live", "new", "a")];
  clock.now += 150; // older than MIN_REFRESH_MS
  assert.equal(await l.has("live", "new", [A!, B!]), true);
});

Deno.test("UpstreamStreamList.has(): unknown (try the pull) when an upstream has no list, fails, answers garbage or went stale", async () => {
  const clock = { now: 10_000 };
  // An RTMP upstream without apiUrl: nobody can say.
  let w = world({ "http://a.test:8090": [] });
  let l = list(w, clock, [A!, R!]);
  await l.refresh();
  assert.equal(await l.has("live", "x", [A!, R!]), undefined);
  for (
    const bad of [
      new TypeError("connection refused"),
      "not json",
      JSON.stringify({ streams: "nope" }),
    ]
  ) {
    w = world({ "http://a.test:8090": bad, "http://b.test:8090": [] });
    l = list(w, clock);
    await l.refresh();
    assert.equal(await l.has("live", "x", [A!, B!]), undefined, String(bad));
  }
  // Fresh once, then unreadable for longer than STALE_INTERVALS: unknown again.
  w = world({ "http://a.test:8090": [], "http://b.test:8090": [] });
  l = list(w, clock);
  await l.refresh();
  assert.equal(await l.has("live", "x", [A!, B!]), false);
  w.answers["http://a.test:8090"] = new TypeError("gone");
  clock.now += 3_500;
  assert.equal(await l.has("live", "x", [A!, B!]), undefined);
});

Deno.test("UpstreamStreamList.learned(): split horizon, our own id dropped, the shortest path kept", async () => {
  const clock = { now: 10_000 };
  const w = world({
    "http://a.test:8090": [
      entry("live", "a", "src", "a"),
      entry("live", "through-me", "src", "me", "a"),
      entry("live", "through-asker", "src", "asker", "a"),
      entry("live", "both", "src", "x", "y", "a"),
    ],
    "http://b.test:8090": [entry("live", "both", "src", "b")],
  });
  const l = list(w, clock);
  await l.refresh();
  const got = l.learned(new Set(["asker"]));
  assert.deepEqual(
    got.map((e) => [e.name, e.path.join(">")]).sort(),
    [["a", "src>a"], ["both", "src>b"]],
  );
});

Deno.test("UpstreamStreamList in store mode: other origins' published streams, not our own listing nor relayed copies", async () => {
  const listing = (
    originId: string,
    streams: [string, string][],
  ): OriginListing => ({
    originId,
    httpUrl: `http://${originId}`,
    rtmpUrl: `rtmp://${originId}`,
    streams: streams.map(([name, protocol]) => ({
      app: "live",
      name,
      startedAt: "",
      viewers: 0,
      bytesIn: 0,
      codecs: {},
      protocol,
    })),
    omitted: 0,
    updatedAtMs: 0,
    ttlMs: 6000,
  });
  const directory: StreamDirectory = {
    announce: () => Promise.resolve(),
    withdraw: () => Promise.resolve(),
    list: () =>
      Promise.resolve([
        listing("up:8090", [["cam", "rtmp"], ["copy", "relay"]]),
        listing("me:8090", [["mine", "rtmp"]]),
      ]),
  };
  const clock = { now: 10_000 };
  const l = new UpstreamStreamList([R!], {
    mode: "store",
    intervalMs: 1000,
    secret: "",
    nodeId: "me",
  }, {
    log: silentLogger,
    directory,
    ownOriginId: () => "me:8090",
    now: () => clock.now,
  });
  await l.refresh();
  assert.equal(await l.has("live", "cam", [R!]), true);
  assert.equal(await l.has("live", "copy", [R!]), false);
  assert.equal(await l.has("live", "mine", [R!]), false);
});

Deno.test("parseListing() on seeded mutations keeps only well-formed entries, never throws", () => {
  const next = createPrng(0x5151);
  const good = {
    nodeId: "up",
    streams: [entry("live", "cam", "up"), entry("app", "s-1", "x", "up")],
  };
  const values: unknown[] = [
    null,
    1,
    "x",
    [],
    {},
    { nodeId: 1 },
    "../../x",
    ["a b"],
    { app: "live" },
  ];
  for (let i = 0; i < 2000; i++) {
    const copy = structuredClone(good) as Record<string, unknown>;
    const streams = copy.streams as Record<string, unknown>[];
    const s = streams[next() % streams.length]!;
    const key = ["app", "name", "path"][next() % 3]!;
    s[key] = values[next() % values.length];
    if (next() % 5 === 0) copy.nodeId = values[next() % values.length];
    const l = parseListing(copy);
    if (l === undefined) continue;
    for (const e of l.streams) {
      assert.match(e.app, /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/);
      assert.match(e.name, /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/);
      assert.ok(e.path.every((id) => /^[A-Za-z0-9_.:-]{1,64}$/.test(id)));
    }
  }
});
