/**
 * Relay cascades with real peers: ffmpeg publishes to the top origin, ffprobe plays every
 * output (RTMP, HTTP-FLV, HLS) two levels down; stream-list sync, waiting viewers, idle stops,
 * the shared secret, loops and the depth limit, a bad upstream beside a good one.
 */
import assert from "node:assert/strict";
import { KvStore } from "../../store/mod.ts";
import { synthStream } from "../_helpers/synth_flv.ts";
import {
  hasBinary,
  probeStreams,
  publishArgs,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { startRawUpstream } from "../origin/relay/_bad_upstreams.ts";
import {
  metricValue,
  relayStatus,
  startTestOrigin,
  TEST_SECRET,
  type TestOrigin,
  waitListed,
} from "../origin/relay/_origins.ts";

const havePeers = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const ignore = !havePeers;
if (ignore) console.log("relay_cascade_test: skipped, ffmpeg/ffprobe missing");

/** Publishes a 1 s GOP test stream to `url` until stopped. */
function publish(url: string) {
  return startPeer("ffmpeg", publishArgs(url, 120, { gop: 25 }), 150_000);
}

async function closeAll(...nodes: (TestOrigin | undefined)[]) {
  for (const n of nodes) await n?.close();
}

Deno.test({
  name:
    "relay cascade of 3 levels: every output plays 2 hops down, chains and hops as expected, an unknown stream is a 404 at once, pulls stop when idle",
  ignore,
  fn: async () => {
    const top = await startTestOrigin({ nodeId: "top" });
    const mid = await startTestOrigin({
      nodeId: "mid",
      upstreams: [{ url: top.rtmp, apiUrl: top.http }],
      idleCloseMs: 1500,
    });
    const low = await startTestOrigin({
      nodeId: "low",
      upstreams: [{ url: mid.http }],
      idleCloseMs: 1500,
    });
    const pub = publish(`${top.rtmp}/live/cam`);
    try {
      await waitFor("the publish", () => top.registry.get("live", "cam"));
      // The lists are eventually consistent: the lowest node learns it through the middle.
      await waitListed(low, "live", "cam");
      // One viewer held open while the probes come and go keeps the pulls up for the checks.
      const held = await fetch(`${low.http}/live/cam.flv`);
      assert.equal(held.status, 200);
      const heldReader = held.body!.getReader();
      await heldReader.read();
      for (
        const url of [
          `${low.http}/live/cam.flv`,
          `${low.rtmp}/live/cam`,
          `${low.http}/live/cam.m3u8`,
          `${mid.rtmp}/live/cam`,
        ]
      ) {
        const streams = await probeStreams(url);
        assert.deepEqual(
          streams.map((s) => s.codec_name).sort(),
          ["aac", "h264"],
          url,
        );
      }
      const lowPulls = (await relayStatus(low)).pulls;
      assert.equal(lowPulls.length, 1);
      assert.equal(lowPulls[0]!.hops, 1);
      assert.equal(lowPulls[0]!.upstream, mid.http);
      // The middle pull was opened for the lower node's pull: its chain is low > mid.
      const midPulls = (await relayStatus(mid)).pulls;
      assert.equal(midPulls.length, 1);
      assert.equal(midPulls[0]!.hops, 2);
      assert.equal(midPulls[0]!.upstream, top.rtmp);
      // The lower node lists it too (learned), for a fourth level.
      const list = await (await fetch(`${low.http}/api/relay/streams`)).json();
      assert.deepEqual(list.streams, [{
        app: "live",
        name: "cam",
        path: ["top", "mid", "low"],
      }]);

      // A stream nobody has: 404 at once from the lists, no pull reaches the top.
      const notFoundBefore = metricValue(
        await (await fetch(`${top.http}/metrics`)).text(),
        "meridian_origin_rtmp_refused_total",
        `action="play",reason="not_found"`,
      ) ?? 0;
      const t0 = performance.now();
      const res = await fetch(`${low.http}/live/nope.flv`);
      const ms = performance.now() - t0;
      assert.equal(res.status, 404);
      assert.match(await res.text(), /no upstream lists it/);
      assert.ok(ms < 1000, `${ms} ms`);
      const topMetrics = await (await fetch(`${top.http}/metrics`)).text();
      assert.equal(
        metricValue(
          topMetrics,
          "meridian_origin_rtmp_refused_total",
          `action="play",reason="not_found"`,
        ) ?? 0,
        notFoundBefore,
      );
      assert.equal(
        metricValue(
          await (await fetch(`${low.http}/metrics`)).text(),
          "meridian_origin_relay_refused_total",
          `reason="not_listed"`,
        ),
        1,
      );

      // Every viewer gone: the lower pull stops after idleCloseMs, then the middle one.
      await heldReader.cancel();
      await waitFor(
        "the lower pull to stop",
        async () => (await relayStatus(low)).pulls.length === 0,
        10_000,
        100,
      );
      await waitFor(
        "the middle pull to stop",
        async () => (await relayStatus(mid)).pulls.length === 0,
        10_000,
        100,
      );
      assert.equal(low.registry.get("live", "cam"), undefined);
      assert.ok(top.registry.get("live", "cam"), "the top still publishes");
    } finally {
      await pub.stop();
      await closeAll(low, mid, top);
    }
  },
});

Deno.test({
  name:
    "relay: viewers arriving while a pull starts all wait for it (no 404) and share one upstream connection",
  ignore,
  fn: async () => {
    const top = await startTestOrigin();
    const low = await startTestOrigin({
      upstreams: [{ url: top.http }],
      idleCloseMs: 500,
    });
    const pub = publish(`${top.rtmp}/live/cam`);
    try {
      await waitFor("the publish", () => top.registry.get("live", "cam"));
      await waitListed(low, "live", "cam");
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => fetch(`${low.http}/live/cam.flv`)),
      );
      assert.deepEqual(responses.map((r) => r.status), [
        200,
        200,
        200,
        200,
        200,
        200,
      ]);
      // Each gets the stream's start at once (FLV header and sequence headers).
      for (const r of responses) {
        const reader = r.body!.getReader();
        const first = await reader.read();
        assert.deepEqual([...first.value!.subarray(0, 3)], [0x46, 0x4c, 0x56]);
        await reader.cancel();
      }
      assert.equal(top.registry.get("live", "cam")!.viewerCount, 1);
      assert.equal(low.registry.get("live", "cam")!.viewerCount, 6);
      // (each body's reader is held since its first read)
    } finally {
      await pub.stop();
      await closeAll(low, top);
    }
  },
});

Deno.test({
  name:
    "relay secret: a pull without it is refused saying so, with it a protected app relays (the lower node checks its own viewers)",
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const store = await KvStore.open(`${dir}/kv`, { pollIntervalMs: 100 });
    const top = await startTestOrigin(
      { secret: TEST_SECRET },
      { apps: [{ name: "live", access: "token" }] },
      { store },
    );
    const noSecret = await startTestOrigin({
      upstreams: [{ url: top.rtmp, apiUrl: top.http }],
    });
    const withSecret = await startTestOrigin({
      upstreams: [{ url: top.rtmp, apiUrl: top.http }],
      secret: TEST_SECRET,
    });
    const pub = publish(`${top.rtmp}/live/cam`);
    try {
      await waitFor("the publish", () => top.registry.get("live", "cam"));
      // Without the secret even the stream list is closed.
      const list = await fetch(`${top.http}/api/relay/streams`);
      assert.equal(list.status, 403);
      await list.body?.cancel();
      const refused = await fetch(`${noSecret.http}/live/cam.flv`);
      assert.equal(refused.status, 502);
      assert.match(await refused.text(), /refused: Relay secret required/);
      // A viewer of the top itself still needs a token.
      const direct = await fetch(`${top.http}/live/cam.flv`);
      assert.equal(direct.status, 401);
      await direct.body?.cancel();
      await waitListed(withSecret, "live", "cam", {
        "X-Meridian-Relay-Secret": TEST_SECRET,
      });
      const streams = await probeStreams(`${withSecret.http}/live/cam.flv`);
      assert.deepEqual(streams.map((s) => s.codec_name).sort(), [
        "aac",
        "h264",
      ]);
    } finally {
      await pub.stop();
      await closeAll(withSecret, noSecret, top);
      store.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("relay: two origins pulling from each other refuse the loop at once, naming it; a chain past maxDepth is refused as too deep", async () => {
  // Without lists every request tries a pull: the loop must stop itself.
  const a = await startTestOrigin({ nodeId: "a", streamList: "off" });
  const b = await startTestOrigin({
    nodeId: "b",
    streamList: "off",
    upstreams: [{ url: a.http }],
  });
  // a pulls from b too (config is immutable: a second node with a's role and id).
  const a2 = await startTestOrigin({
    nodeId: "a",
    streamList: "off",
    upstreams: [{ url: b.rtmp }],
  });
  try {
    // a2 > b > a ... a is "a" again: the chain [a, b] reaches a node named a.
    const t0 = performance.now();
    const res = await fetch(`${a2.http}/live/x.flv`);
    assert.equal(res.status, 508, await res.clone().text());
    assert.match(
      await res.text(),
      /Relay loop: the stream already passed this node 'a' \(chain a > b\)/,
    );
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(
      metricValue(
        await (await fetch(`${a.http}/metrics`)).text(),
        "meridian_origin_relay_refused_total",
        `reason="loop"`,
      ),
      1,
    );
  } finally {
    await closeAll(a2, b, a);
  }
  const top = await startTestOrigin({ nodeId: "top", maxDepth: 1 });
  const mid = await startTestOrigin({
    nodeId: "mid",
    streamList: "off",
    upstreams: [{ url: top.rtmp }],
  });
  const low = await startTestOrigin({
    nodeId: "low",
    streamList: "off",
    upstreams: [{ url: mid.http }],
  });
  try {
    const res = await fetch(`${low.http}/live/x.flv`);
    assert.equal(res.status, 508);
    assert.match(
      await res.text(),
      /Relay depth limit: the pull has 2 hops, this node allows 1/,
    );
    // One hop is within the limit: a plain 404 (nobody publishes it).
    const one = await fetch(`${mid.http}/live/x.flv`);
    assert.equal(one.status, 404);
    await one.body?.cancel();
  } finally {
    await closeAll(low, mid, top);
  }
});

Deno.test({
  name:
    "relay: an upstream that sends garbage fails its own stream's viewers bounded, while another stream keeps playing",
  ignore,
  fn: async () => {
    const junk = startRawUpstream("garbage", { seed: 3, s0: true });
    const top = await startTestOrigin();
    const low = await startTestOrigin({
      upstreams: [
        { url: junk.url, apps: ["junk"] },
        { url: top.rtmp, apiUrl: top.http, apps: ["live"] },
      ],
      startTimeoutMs: 1500,
      streamList: "upstream",
    });
    const pub = publish(`${top.rtmp}/live/cam`);
    try {
      await waitFor("the publish", () => top.registry.get("live", "cam"));
      await waitListed(low, "live", "cam");
      const good = await fetch(`${low.http}/live/cam.flv`);
      assert.equal(good.status, 200);
      const reader = good.body!.getReader();
      let bytes = 0;
      const reading = (async () => {
        for (;;) {
          const r = await reader.read();
          if (r.done) return;
          bytes += r.value.byteLength;
        }
      })();
      const t0 = performance.now();
      const bad = await Promise.all(
        [1, 2, 3].map(() => fetch(`${low.http}/junk/x.flv`)),
      );
      for (const r of bad) {
        assert.equal(r.status, 502);
        assert.match(await r.text(), /not RTMP|closed before the play/);
      }
      assert.ok(performance.now() - t0 < 3000);
      const before = bytes;
      await waitFor(
        "the good stream to keep flowing",
        () => bytes > before + 10_000,
      );
      await reader.cancel();
      await reading;
    } finally {
      await pub.stop();
      await closeAll(low, top);
      await junk.close();
    }
  },
});

Deno.test("relay with streamList: store: the shared store's directory says what exists upstream (404 at once otherwise)", async () => {
  const dir = await Deno.makeTempDir();
  const topStore = await KvStore.open(`${dir}/kv`, { pollIntervalMs: 100 });
  const lowStore = await KvStore.open(`${dir}/kv`, { pollIntervalMs: 100 });
  const top = await startTestOrigin({}, {}, { store: topStore });
  const low = await startTestOrigin(
    {
      upstreams: [{ url: top.rtmp }],
      streamList: "store",
      streamListIntervalMs: 200,
    },
    {},
    { store: lowStore },
  );
  try {
    const hub = top.registry.startPublish("live", "syn", {
      peer: "test",
      protocol: "test",
    });
    for (const t of synthStream(2000)) hub.pushTag(t);
    // The top announces its streams into the directory; the lower node reads it.
    await waitFor(
      "the directory to list live/syn",
      async () =>
        (await lowStore.streams.list(Date.now())).some((l) =>
          l.streams.some((s) => s.name === "syn")
        ),
    );
    // ...and the lower node has read it (its view is at most MIN_REFRESH_MS behind).
    await waitListed(low, "live", "syn");
    const res = await fetch(`${low.http}/live/syn.flv`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal((await relayStatus(low)).pulls[0]?.upstream, top.rtmp);
    const t0 = performance.now();
    const none = await fetch(`${low.http}/live/none.flv`);
    assert.equal(none.status, 404);
    assert.match(await none.text(), /no upstream lists it/);
    assert.ok(performance.now() - t0 < 1000);
  } finally {
    await closeAll(low, top);
    topStore.close();
    lowStore.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "relay: the first request of any output starts the pull: an HLS playlist (held until the first segment) or an RTMP play",
  ignore,
  fn: async () => {
    const top = await startTestOrigin();
    const pub = publish(`${top.rtmp}/live/cam`);
    const lows: TestOrigin[] = [];
    try {
      await waitFor("the publish", () => top.registry.get("live", "cam"));
      for (const first of ["m3u8", "rtmp"] as const) {
        const low = await startTestOrigin({
          upstreams: [{ url: top.rtmp, apiUrl: top.http }],
        });
        lows.push(low);
        await waitListed(low, "live", "cam");
        assert.equal(
          (await relayStatus(low)).pulls.length,
          0,
          "no pull before",
        );
        const url = first === "rtmp"
          ? `${low.rtmp}/live/cam`
          : `${low.http}/live/cam.m3u8`;
        const streams = await probeStreams(url);
        assert.deepEqual(streams.map((s) => s.codec_name).sort(), [
          "aac",
          "h264",
        ], url);
        assert.equal((await relayStatus(low)).pulls.length, 1, first);
      }
    } finally {
      await pub.stop();
      await closeAll(...lows, top);
    }
  },
});
