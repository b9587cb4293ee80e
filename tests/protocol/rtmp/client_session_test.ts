import assert from "node:assert/strict";
import { readFlvFile } from "../../../codec/flv/mod.ts";
import type { FlvTag } from "../../../codec/flv/types.ts";
import { RtmpProtocolError } from "../../../codec/rtmp/mod.ts";
import { parseConfig } from "../../../config/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { startOrigin } from "../../../origin/mod.ts";
import {
  type RtmpClientEvent,
  RtmpClientSession,
} from "../../../protocol/rtmp/mod.ts";
import {
  hasBinary,
  runPeer,
  startPeer,
  waitFor,
} from "../../_helpers/peers.ts";
import { createPrng, randomBytes } from "../../_helpers/prng.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const demo = readFlvFile(
  await Deno.readFile(new URL("../../../media/demo.flv", import.meta.url)),
).tags;

/** Runs a session over a TCP connection until `stop` resolves or the server closes it. */
function drive(
  conn: Deno.Conn,
  session: RtmpClientSession,
): { done: Promise<void>; flush(): Promise<void> } {
  const flush = async () => {
    for (const b of session.takeOutput()) {
      for (let o = 0; o < b.length;) o += await conn.write(b.subarray(o));
    }
  };
  const done = (async () => {
    await conn.write(session.start());
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        session.receive(buf.slice(0, n));
        await flush();
      }
    } catch (e) {
      if (
        !(e instanceof Deno.errors.BadResource ||
          e instanceof Deno.errors.Interrupted ||
          e instanceof Deno.errors.ConnectionReset)
      ) throw e;
    }
  })();
  return { done, flush };
}

/** Publishes the demo clip's tags (≈ 3 s of media, sent as fast as the socket takes them). */
async function publishDemo(
  session: RtmpClientSession,
  flush: () => Promise<void>,
  loops = 2,
): Promise<void> {
  let offset = 0;
  const last = demo[demo.length - 1]!.timestampMs;
  for (let l = 0; l < loops; l++) {
    for (const t of demo) {
      const config = l > 0 && (t.type === 18 || t.data[1] === 0);
      if (config) continue;
      session.publishTag(
        { ...t, timestampMs: t.timestampMs + offset } as FlvTag,
      );
    }
    offset += last + 40;
    await flush();
  }
}

Deno.test({
  name:
    "RtmpClientSession publishes to and plays from Meridian's origin (ffprobe reads what it published)",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = parseConfig({
      origin: { rtmpPort: 0, httpPort: 0, virtualLive: [] },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const events: RtmpClientEvent[] = [];
    const pub = new RtmpClientSession({
      mode: "publish",
      tcUrl: `rtmp://127.0.0.1:${origin.rtmpPort}/live`,
      app: "live",
      stream: "relay1",
      onEvent: (e) => events.push(e),
    });
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: origin.rtmpPort,
    });
    const d = drive(conn, pub);
    try {
      await waitFor(
        "publish start",
        () => pub.phase === "started" || undefined,
        5000,
        10,
      );
      assert.deepEqual(events.map((e) => e.type), ["connected", "started"]);
      // A player session of our own gets sequence headers and a keyframe.
      const got: FlvTag[] = [];
      const player = new RtmpClientSession({
        mode: "play",
        tcUrl: `rtmp://127.0.0.1:${origin.rtmpPort}/live`,
        app: "live",
        stream: "relay1",
        onEvent: (e) => e.type === "media" && got.push(e.tag),
      });
      const pconn = await Deno.connect({
        hostname: "127.0.0.1",
        port: origin.rtmpPort,
      });
      const pd = drive(pconn, player);
      await publishDemo(pub, d.flush, 1);
      const probe = runPeer("ffprobe", [
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name",
        "-of",
        "csv=p=0",
        `http://127.0.0.1:${origin.httpPort}/live/relay1.flv`,
      ], 20_000);
      await publishDemo(pub, d.flush, 4);
      const out = await probe;
      assert.deepEqual(
        out.stdout.trim().split("\n").sort(),
        ["aac", "h264"],
        out.stderr,
      );
      await waitFor(
        "player media",
        () =>
          got.some((t) => t.type === 9 && (t.data[0]! >> 4) === 1) || undefined,
        5000,
        10,
      );
      assert.ok(
        got.some((t) => t.type === 9 && t.data[1] === 0),
        "AVC sequence header",
      );
      assert.ok(
        got.some((t) => t.type === 8 && t.data[1] === 0),
        "AAC sequence header",
      );
      player.close();
      pconn.close();
      await pd.done;
      // A second publisher of the same key is refused, and says so.
      const refused: RtmpClientEvent[] = [];
      const dup = new RtmpClientSession({
        mode: "publish",
        tcUrl: `rtmp://127.0.0.1:${origin.rtmpPort}/live`,
        app: "live",
        stream: "relay1",
        onEvent: (e) => refused.push(e),
      });
      const dconn = await Deno.connect({
        hostname: "127.0.0.1",
        port: origin.rtmpPort,
      });
      const dd = drive(dconn, dup);
      await waitFor(
        "refusal",
        () => refused.find((e) => e.type === "refused"),
        5000,
        10,
      );
      dconn.close();
      await dd.done;
    } finally {
      pub.close();
      await d.flush().catch(() => {});
      conn.close();
      await d.done;
      await origin.close();
    }
  },
});

Deno.test({
  name:
    "RtmpClientSession publishes to ffmpeg's RTMP server (-listen 1), which records a playable FLV",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const ff = startPeer("ffmpeg", [
      "-v",
      "error",
      "-listen",
      "1",
      "-i",
      `rtmp://127.0.0.1:${port}/live/x`,
      "-c",
      "copy",
      "-f",
      "flv",
      `${dir}/out.flv`,
    ], 30_000);
    try {
      const conn = await waitFor(
        "ffmpeg listening",
        () => Deno.connect({ hostname: "127.0.0.1", port }),
        10_000,
        50,
      );
      const events: RtmpClientEvent[] = [];
      const s = new RtmpClientSession({
        mode: "publish",
        tcUrl: `rtmp://127.0.0.1:${port}/live`,
        app: "live",
        stream: "x",
        onEvent: (e) => events.push(e),
      });
      const d = drive(conn, s);
      await waitFor(
        "publish start",
        () => s.phase === "started" || undefined,
        10_000,
        10,
      );
      await publishDemo(s, d.flush, 2);
      s.close();
      await d.flush();
      conn.close();
      await d.done;
      await waitFor(
        "ffmpeg exits",
        async () => (await ff.child.status).code === 0 || undefined,
        10_000,
      );
      const p = await runPeer("ffprobe", [
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name",
        "-of",
        "csv=p=0",
        `${dir}/out.flv`,
      ]);
      assert.deepEqual(
        p.stdout.trim().split("\n").sort(),
        ["aac", "h264"],
        p.stderr,
      );
    } finally {
      await ff.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("RtmpClientSession fuzz: random bytes after the handshake throw RtmpProtocolError or are taken", () => {
  const next = createPrng(0x72746d70);
  for (let n = 0; n < 500; n++) {
    const s = new RtmpClientSession({
      mode: n % 2 ? "play" : "publish",
      tcUrl: "rtmp://h/live",
      app: "live",
      stream: "s",
      onEvent: () => {},
    });
    s.start();
    // S0 + S1 + S2 of zeros completes the (simple) handshake.
    s.receive(new Uint8Array(1 + 1536 * 2).fill(3, 0, 1));
    try {
      for (let k = 0; k < 4; k++) {
        s.receive(randomBytes(next, 1 + (next() % 400)));
      }
    } catch (e) {
      if (
        !(e instanceof RtmpProtocolError) &&
        !(e instanceof Error && /FormatError$/.test(e.name))
      ) {
        throw new Error(`case ${n}: ${e}`, { cause: e });
      }
    }
  }
});
