/**
 * Static push (origin.relay.forward) with real peers: to a third party's ingest (ffmpeg
 * -listen) with a stream key that never shows, to another origin that goes away and comes
 * back (reconnect with backoff), and a push loop between two origins refused as a loop.
 */
import assert from "node:assert/strict";
import {
  hasBinary,
  probeStreams,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { freeTcpPort } from "../_helpers/ports.ts";
import {
  metricValue,
  relayStatus,
  startTestOrigin,
} from "../origin/relay/_origins.ts";

const ignore = !(await hasBinary("ffmpeg") && await hasBinary("ffprobe"));
if (ignore) console.log("relay_forward_test: skipped, ffmpeg/ffprobe missing");

function publish(url: string) {
  return startPeer("ffmpeg", publishArgs(url, 120, { gop: 25 }), 150_000);
}

Deno.test({
  name:
    "forward to a third party's ingest (ffmpeg -listen) with a stream key: it records decodable media, the key never shows in status or metrics",
  ignore,
  fn: async () => {
    const port = freeTcpPort();
    const dir = await Deno.makeTempDir();
    const out = `${dir}/got.flv`;
    // The "platform": accepts one publish of app/key-123 and records 3 s of it.
    const platform = runPeer("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-listen",
      "1",
      "-i",
      `rtmp://127.0.0.1:${port}/app/key-123`,
      "-t",
      "3",
      "-c",
      "copy",
      "-f",
      "flv",
      out,
    ], 40_000);
    const origin = await startTestOrigin({
      forward: [
        { url: `rtmp://127.0.0.1:${port}/app`, streamKey: "key-123" },
        // Another app only: never used for live/cam.
        { url: `rtmp://127.0.0.1:${port}/x`, apps: ["other"] },
      ],
    });
    const pub = publish(`${origin.rtmp}/live/cam`);
    try {
      await waitFor(
        "the push to publish",
        async () =>
          (await relayStatus(origin)).pushes[0]?.state === "publishing",
      );
      const status = await relayStatus(origin);
      assert.equal(status.pushes.length, 1, "one rule matches live/cam");
      assert.equal(
        status.pushes[0]!.target,
        `rtmp://127.0.0.1:${port}/app/<streamKey>`,
      );
      const metrics = await (await fetch(`${origin.http}/metrics`)).text();
      assert.equal(
        metricValue(
          metrics,
          "meridian_origin_relay_pushes",
          `state="publishing"`,
        ),
        1,
      );
      assert.ok(
        (metricValue(metrics, "meridian_origin_relay_push_bytes_total") ?? 0) >
          0,
      );
      assert.doesNotMatch(JSON.stringify(status) + metrics, /key-123/);
      const done = await platform;
      assert.equal(done.code, 0, done.stderr);
      const streams = await probeStreams(out);
      assert.deepEqual(streams.map((s) => s.codec_name).sort(), [
        "aac",
        "h264",
      ]);
    } finally {
      await pub.stop();
      await origin.close();
      await platform.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "forward to another origin: it plays there; when it goes away the push backs off, and it publishes again once the origin is back",
  ignore,
  fn: async () => {
    const rtmpPort = freeTcpPort();
    let target = await startTestOrigin({}, { rtmpPort });
    const origin = await startTestOrigin({
      forward: [{ url: `rtmp://127.0.0.1:${rtmpPort}/live` }],
    });
    const pub = publish(`${origin.rtmp}/live/cam`);
    try {
      await waitFor(
        "the pushed stream",
        () => target.registry.get("live", "cam"),
      );
      const streams = await probeStreams(`${target.http}/live/cam.flv`);
      assert.deepEqual(streams.map((s) => s.codec_name).sort(), [
        "aac",
        "h264",
      ]);
      // The pushed hub carries the pushing node's chain (loop prevention further on).
      assert.deepEqual(
        target.registry.get("live", "cam")!.publisher.chain?.via,
        [origin.relay.relay.nodeId],
      );
      await target.close();
      await waitFor(
        "the push to back off",
        async () => (await relayStatus(origin)).pushes[0]?.state === "backoff",
      );
      assert.match(
        (await relayStatus(origin)).pushes[0]!.lastError,
        /closed the connection|connection failed/,
      );
      target = await startTestOrigin({}, { rtmpPort });
      await waitFor(
        "the push to publish again",
        async () => {
          const p = (await relayStatus(origin)).pushes[0];
          return p?.state === "publishing" && p.connects === 2;
        },
        20_000,
        100,
      );
      await waitFor(
        "the stream on the new target",
        () => target.registry.get("live", "cam"),
      );
    } finally {
      await pub.stop();
      await origin.close();
      await target.close();
    }
  },
});

Deno.test({
  name:
    "forward loop: two origins forwarding to each other: the second push is refused as a relay loop, the stream plays on",
  ignore,
  fn: async () => {
    const portA = freeTcpPort();
    const portB = freeTcpPort();
    const a = await startTestOrigin({
      nodeId: "a",
      forward: [{ url: `rtmp://127.0.0.1:${portB}/live` }],
    }, { rtmpPort: portA });
    const b = await startTestOrigin({
      nodeId: "b",
      forward: [{ url: `rtmp://127.0.0.1:${portA}/live` }],
    }, { rtmpPort: portB });
    const pub = publish(`${a.rtmp}/live/cam`);
    try {
      await waitFor("the push to b", () => b.registry.get("live", "cam"));
      await waitFor(
        "b's push back to a refused",
        async () =>
          /Relay loop/.test((await relayStatus(b)).pushes[0]?.lastError ?? ""),
      );
      assert.match(
        (await relayStatus(b)).pushes[0]!.lastError,
        /refused: NetStream\.Publish\.Rejected: Relay loop: the stream already passed this node 'a' \(chain a > b\)/,
      );
      assert.equal(a.registry.get("live", "cam")!.publisher.protocol, "rtmp");
      assert.equal((await relayStatus(a)).pushes[0]!.state, "publishing");
    } finally {
      await pub.stop();
      await b.close();
      await a.close();
    }
  },
});
