/**
 * The two pull transports (origin/relay/pull_rtmp.ts, pull_flv.ts) against a real origin and
 * against upstreams that send garbage, close mid-stream or never answer: every case ends
 * bounded in time with its own error code.
 */
import assert from "node:assert/strict";
import {
  encodeFlvHeader,
  encodeFlvTag,
  type FlvTag,
} from "../../../codec/flv/mod.ts";
import {
  extendChain,
  openFlvPull,
  openRtmpPull,
  parseUpstreams,
  type PullConnection,
  RelayError,
  RelayErrorCode,
} from "../../../origin/relay/mod.ts";
import type { Upstream } from "../../../origin/relay/upstream.ts";
import { synthStream } from "../../_helpers/synth_flv.ts";
import { startHttpUpstream, startRawUpstream } from "./_bad_upstreams.ts";
import { startTestOrigin, TEST_SECRET } from "./_origins.ts";

const TIMEOUTS = { startTimeoutMs: 1500, readTimeoutMs: 800 };
const request = {
  app: "live",
  name: "t",
  chain: extendChain(undefined, "below"),
  secret: "",
};

function upstreamOf(url: string): Upstream {
  return parseUpstreams([{ url, apiUrl: "", apps: [] }])[0]!;
}

/** Opens a pull, collecting its tags. */
function open(
  kind: "rtmp" | "http",
  url: string,
  req = request,
): { conn: PullConnection; tags: FlvTag[] } {
  const tags: FlvTag[] = [];
  const opener = kind === "rtmp" ? openRtmpPull : openFlvPull;
  const conn = opener(upstreamOf(url), req, TIMEOUTS, {
    onTag: (t) => tags.push(t),
  });
  return { conn, tags };
}

/** The start's rejection, with how long it took (ms). */
async function startFailure(
  conn: PullConnection,
): Promise<{ error: RelayError; ms: number }> {
  const t0 = performance.now();
  try {
    await conn.started;
  } catch (e) {
    assert.ok(e instanceof RelayError, String(e));
    // The end says the same, and resolves (never rejects).
    assert.equal(await conn.ended, e);
    return { error: e, ms: performance.now() - t0 };
  }
  assert.fail("the pull started");
}

for (const kind of ["rtmp", "http"] as const) {
  Deno.test(`${kind} pull from an origin: sequence headers and the GOP at once, then a clean end when the stream ends`, async () => {
    const origin = await startTestOrigin();
    try {
      const hub = origin.registry.startPublish("live", "t", {
        peer: "test",
        protocol: "test",
      });
      for (const t of synthStream(3000)) hub.pushTag(t);
      const { conn, tags } = open(
        kind,
        kind === "rtmp" ? origin.rtmp : origin.http,
      );
      await conn.started;
      for (let i = 0; i < 200 && tags.length < 4; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      // The config tags first (AVC then AAC sequence headers), then a keyframe.
      assert.deepEqual(tags.slice(0, 2).map((t) => [t.type, t.data[1]]), [
        [9, 0],
        [8, 0],
      ]);
      assert.equal(tags[2]!.data[0], 0x17, "a keyframe next");
      hub.end();
      assert.equal(await conn.ended, undefined, "a clean end");
      assert.ok(conn.bytesIn > 0);
    } finally {
      await origin.close();
    }
  });

  Deno.test(`${kind} pull of a stream the upstream lacks is RELAY_NOT_FOUND at once`, async () => {
    const origin = await startTestOrigin();
    try {
      const { conn } = open(kind, kind === "rtmp" ? origin.rtmp : origin.http);
      const { error, ms } = await startFailure(conn);
      assert.equal(error.code, RelayErrorCode.NotFound);
      assert.ok(ms < 1000, `${ms} ms`);
    } finally {
      await origin.close();
    }
  });

  Deno.test(`${kind} pull without the upstream's secret is refused with its reason; with it, it plays`, async () => {
    const origin = await startTestOrigin({ secret: TEST_SECRET });
    try {
      const hub = origin.registry.startPublish("live", "t", {
        peer: "test",
        protocol: "test",
      });
      for (const t of synthStream(2000)) hub.pushTag(t);
      const url = kind === "rtmp" ? origin.rtmp : origin.http;
      const { error } = await startFailure(open(kind, url).conn);
      assert.equal(error.code, RelayErrorCode.Secret);
      assert.match(error.message, /refused: Relay secret required/);
      const ok = open(kind, url, { ...request, secret: TEST_SECRET });
      await ok.conn.started;
      ok.conn.close();
      assert.equal(await ok.conn.ended, undefined);
      hub.end();
    } finally {
      await origin.close();
    }
  });

  Deno.test(`${kind} pull that would loop back is refused as RELAY_LOOP, naming the node`, async () => {
    const origin = await startTestOrigin({ nodeId: "top" });
    try {
      const { error } = await startFailure(
        open(kind, kind === "rtmp" ? origin.rtmp : origin.http, {
          ...request,
          chain: { hops: 2, via: ["top", "middle"] },
        }).conn,
      );
      assert.equal(error.code, RelayErrorCode.Loop);
      assert.match(
        error.message,
        /Relay loop: the stream already passed this node 'top'/,
      );
    } finally {
      await origin.close();
    }
  });

  Deno.test(`${kind} pull from an upstream that accepts and never answers times out within its start bound`, async () => {
    const up = startRawUpstream("silent");
    try {
      const url = kind === "rtmp" ? up.url : `http://127.0.0.1:${up.port}`;
      const { error, ms } = await startFailure(open(kind, url).conn);
      assert.equal(error.code, RelayErrorCode.Timeout);
      assert.ok(ms >= 1400 && ms < 3000, `${ms} ms`);
    } finally {
      await up.close();
    }
  });

  Deno.test(`${kind} pull from an upstream that closes at once ends bounded, with its code`, async () => {
    const up = startRawUpstream("close");
    try {
      const url = kind === "rtmp" ? up.url : `http://127.0.0.1:${up.port}`;
      const { error, ms } = await startFailure(open(kind, url).conn);
      assert.ok(
        [RelayErrorCode.BadUpstream, RelayErrorCode.Connect].includes(
          error.code as "RELAY_CONNECT",
        ),
        error.message,
      );
      assert.ok(ms < 1000, `${ms} ms`);
    } finally {
      await up.close();
    }
  });
}

Deno.test("rtmp pull from an upstream that sends garbage (20 seeds) is RELAY_BAD_UPSTREAM or a timeout, never more", async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const up = startRawUpstream("garbage", { seed, s0: seed % 2 === 0 });
    try {
      const { error, ms } = await startFailure(open("rtmp", up.url).conn);
      assert.ok(
        [RelayErrorCode.BadUpstream, RelayErrorCode.Timeout].includes(
          error.code as "RELAY_TIMEOUT",
        ),
        `seed ${seed}: ${error.code} ${error.message}`,
      );
      assert.ok(ms < 3000, `seed ${seed}: ${ms} ms`);
    } finally {
      await up.close();
    }
  }
});

Deno.test("http pull: a wrong content type, a body that is not FLV, a bad status and a cut tag each end with their code", async () => {
  const header = encodeFlvHeader({ hasAudio: true, hasVideo: true });
  const tag = encodeFlvTag({
    type: 9,
    timestampMs: 0,
    data: new Uint8Array([0x17, 1, 0, 0, 0, 1, 2, 3]),
  });
  const flv = (parts: Uint8Array[], end: boolean) =>
    new Response(
      new ReadableStream({
        start(c) {
          for (const p of parts) c.enqueue(p);
          if (end) c.close();
        },
      }),
      { headers: { "content-type": "video/x-flv" } },
    );
  const cases: [string, () => Response, string, boolean][] = [
    [
      "html",
      () =>
        new Response("<html>", {
          headers: { "content-type": "text/html" },
        }),
      RelayErrorCode.BadUpstream,
      false,
    ],
    [
      "status 500",
      () => new Response("boom", { status: 500 }),
      RelayErrorCode.BadUpstream,
      false,
    ],
    [
      "508",
      () => new Response("Relay depth limit: 9 hops", { status: 508 }),
      RelayErrorCode.TooDeep,
      false,
    ],
    [
      "not FLV",
      () => flv([new TextEncoder().encode("GARBAGE-NOT-FLV-AT-ALL")], true),
      RelayErrorCode.BadUpstream,
      true,
    ],
    [
      "cut mid-tag",
      () => flv([header, tag.subarray(0, 7)], true),
      RelayErrorCode.Broken,
      true,
    ],
    [
      "silent after the header",
      () => flv([header], false),
      RelayErrorCode.Timeout,
      true,
    ],
  ];
  for (const [what, answer, code, starts] of cases) {
    const up = startHttpUpstream(answer);
    try {
      const { conn } = open("http", up.url);
      const t0 = performance.now();
      let error: RelayError | undefined;
      if (starts) {
        await conn.started;
        error = await conn.ended;
      } else error = (await startFailure(conn)).error;
      assert.equal(error?.code, code, `${what}: ${error?.message}`);
      assert.ok(performance.now() - t0 < 2500, what);
    } finally {
      await up.close();
    }
  }
});
