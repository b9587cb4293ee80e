/**
 * TLS end to end with real peers and certificates made by openssl at test time: ffmpeg
 * publishes over rtmps:// to the origin; ffprobe plays it back over rtmps:// and https://
 * (HLS and HTTP-FLV); an edge pulls from the origin's https:// port (trusting the test CA
 * through tls.caFile) and serves viewers HTTPS, checked with curl --cacert and ffprobe; a
 * renewed edge certificate is served without a restart; an RTMP client session (the one relays
 * use) plays over rtmps:// through dialUrl; control and scheduler answer on their HTTPS ports.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../log/mod.ts";
import { startOrigin } from "../../origin/mod.ts";
import { startEdge } from "../../edge/mod.ts";
import { dialUrl } from "../../net/mod.ts";
import { RtmpClientSession } from "../../protocol/rtmp/mod.ts";
import { FlvTagType } from "../../codec/flv/types.ts";
import {
  hasBinary,
  probeStreams,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import {
  createTestCa,
  ffmpegHasTls,
  fingerprintOf,
  haveOpenssl,
  presentedFingerprint,
  tlsSection,
} from "../_helpers/tls.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe") &&
  await ffmpegHasTls();
const haveCurl = await runPeer("curl", ["--version"], 10_000).then(
  (o) => o.code === 0,
  () => false,
);

function codecs(streams: { codec_name: string }[]): string[] {
  return streams.map((s) => s.codec_name).sort();
}

Deno.test({
  name:
    "TLS: ffmpeg publishes over rtmps://, ffprobe plays rtmps:// and https://, an edge pulls https:// and serves HTTPS to curl --cacert",
  ignore: !haveOpenssl || !haveFfmpeg || !haveCurl,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ca = await createTestCa();
    const originCert = await ca.issue("origin", { names: ["localhost"] });
    const edgeCert = await ca.issue("edge", { names: ["edge.test"] });
    const config = parseConfig({
      tls: { caFile: ca.caFile, reloadCheckSeconds: 0.2 },
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        rtmps: tlsSection(originCert),
        tls: tlsSection(originCert),
      },
    });
    const metrics = new MetricsRegistry();
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics,
      tls: config.tls,
    });
    assert.ok(origin.rtmpsPort && origin.httpsPort);
    const httpsOrigin = `https://127.0.0.1:${origin.httpsPort}`;
    const edgeConfig = parseConfig({
      edge: {
        port: 0,
        origins: [{ url: httpsOrigin }],
        tls: tlsSection(edgeCert),
      },
    }).edge;
    const edge = await startEdge(edgeConfig, {
      log: silentLogger,
      metrics,
      healthChecks: false,
      tls: config.tls,
    });
    const rtmps = `rtmps://127.0.0.1:${origin.rtmpsPort}/live/t`;
    const pub = startPeer("ffmpeg", publishArgs(rtmps, 40));
    try {
      const playlist = await waitFor(
        "HLS segments published over RTMPS",
        async () => {
          const r = await runPeer("curl", [
            "-sS",
            "--cacert",
            ca.caFile,
            `${httpsOrigin}/live/t.m3u8`,
          ], 10_000);
          return r.code === 0 && (r.stdout.match(/#EXTINF/g) ?? []).length >= 2
            ? r.stdout
            : undefined;
        },
        30_000,
        250,
      );
      assert.match(playlist, /#EXTM3U/);
      // Back out over RTMPS and HTTPS (HLS and HTTP-FLV) from the origin.
      assert.deepEqual(codecs(await probeStreams(rtmps)), ["aac", "h264"]);
      assert.deepEqual(
        codecs(await probeStreams(`${httpsOrigin}/live/t.m3u8`)),
        ["aac", "h264"],
      );
      assert.deepEqual(
        codecs(await probeStreams(`${httpsOrigin}/live/t.flv`)),
        ["aac", "h264"],
      );

      // The edge: origin over https:// (the test CA from tls.caFile), viewers over HTTPS.
      const edgeUrl = `https://edge.test:${edge.httpsPort}`;
      const resolve = `edge.test:${edge.httpsPort}:127.0.0.1`;
      const viaEdge = await runPeer("curl", [
        "-sS",
        "-D",
        "-",
        "--cacert",
        ca.caFile,
        "--resolve",
        resolve,
        `${edgeUrl}/live/t.m3u8`,
      ], 15_000);
      assert.equal(viaEdge.code, 0, viaEdge.stderr);
      assert.match(viaEdge.stdout, /^HTTP\/1\.1 200 /);
      assert.match(viaEdge.stdout, /#EXTINF/);
      // Without the CA, curl refuses the edge's certificate: it really is checked.
      const untrusted = await runPeer("curl", [
        "-sS",
        "--resolve",
        resolve,
        `${edgeUrl}/healthz`,
      ], 15_000);
      assert.notEqual(untrusted.code, 0);
      assert.deepEqual(
        codecs(
          await probeStreams(`https://127.0.0.1:${edge.httpsPort}/live/t.flv`),
        ),
        ["aac", "h264"],
      );

      // A renewed edge certificate is served without a restart (tls.reloadCheckSeconds 0.2).
      const before = await fingerprintOf(edgeCert.certFile);
      await ca.issue("edge", { names: ["edge.test"], ...edgeCert });
      const after = await fingerprintOf(edgeCert.certFile);
      assert.notEqual(after, before);
      await waitFor(
        "the renewed edge certificate",
        async () =>
          (await presentedFingerprint(edge.httpsPort!, "edge.test", ca.caFile))
            .fingerprint === after,
        10_000,
        100,
      );
      const again = await runPeer("curl", [
        "-sS",
        "--cacert",
        ca.caFile,
        "--resolve",
        resolve,
        `${edgeUrl}/healthz`,
      ], 15_000);
      assert.equal(again.code, 0, again.stderr);

      const m = metrics.render();
      assert.match(
        m,
        /meridian_tls_handshakes_total\{listener="origin_rtmps",result="ok"\} [1-9]/,
      );
      assert.match(
        m,
        /meridian_tls_reloads_total\{listener="edge_https",result="ok"\} 1\n/,
      );
      assert.match(
        m,
        /meridian_tls_certificate_expiry_timestamp_seconds\{listener="edge_https",certificate="edge.test"\} \d+/,
      );
    } finally {
      await pub.stop();
      await edge.close();
      await origin.close();
      await ca.close();
    }
  },
});

Deno.test({
  name:
    "TLS: an RTMP client session (as relays use) plays from the origin over rtmps:// through dialUrl",
  ignore: !haveOpenssl || !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ca = await createTestCa();
    const cert = await ca.issue("origin", { names: ["localhost"] });
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        rtmps: tlsSection(cert),
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const pub = startPeer(
      "ffmpeg",
      publishArgs(`rtmp://127.0.0.1:${origin.rtmpPort}/live/r`, 30),
    );
    try {
      await waitFor("the stream", () => origin.registry.size > 0, 20_000);
      const url = new URL(`rtmps://127.0.0.1:${origin.rtmpsPort}/live/r`);
      const conn = await dialUrl(url, { caCerts: [ca.caPem], timeoutMs: 5000 });
      let video = 0;
      let started = false;
      const session = new RtmpClientSession({
        tcUrl: `rtmps://127.0.0.1:${origin.rtmpsPort}/live`,
        app: "live",
        stream: "r",
        mode: "play",
        onEvent: (e) => {
          if (e.type === "started") started = true;
          if (e.type === "media" && e.tag.type === FlvTagType.Video) video++;
        },
      });
      const buf = new Uint8Array(64 * 1024);
      const deadline = Date.now() + 15_000;
      try {
        await conn.write(session.start());
        while (video < 25 && Date.now() < deadline) {
          const n = await conn.read(buf);
          if (n === null) break;
          session.receive(buf.subarray(0, n));
          for (const b of session.takeOutput()) await conn.write(b);
        }
      } finally {
        conn.close();
      }
      assert.ok(started, "play started");
      assert.ok(video >= 25, `video tags: ${video}`);
    } finally {
      await pub.stop();
      await origin.close();
      await ca.close();
    }
  },
});
