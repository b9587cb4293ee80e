/**
 * Integration: the real RTMP server on 127.0.0.1:0 with a real StreamRegistry, driven by
 * ffmpeg (publish), ffprobe (play) and raw TCP clients that misbehave.
 */
import assert from "node:assert/strict";
import type { FlvTag } from "../../../codec/flv/types.ts";
import {
  decodeCommand,
  encodeRtmpMediaTag,
  encodeRtmpMessage,
  type RtmpMessage,
} from "../../../codec/rtmp/mod.ts";
import { waitFor } from "../../_helpers/peers.ts";
import { RawClient } from "../../_helpers/rtmp_client.ts";
import { createLogger } from "../../../origin/log.ts";
import { type RtmpServer, startRtmpServer } from "../../../origin/rtmp/mod.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";

const OUT_CHUNK_SIZE = 4096;

function hasBinary(name: string): boolean {
  try {
    return new Deno.Command(name, {
      args: ["-version"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}
const HAVE_FFMPEG = hasBinary("ffmpeg") && hasBinary("ffprobe");

interface Child {
  readonly status: Promise<{ code: number; stderr: string }>;
  kill(): void;
}

/** Spawns a time-bounded child; `kill()` in finally is always safe. */
function spawn(cmd: string, args: string[], timeoutMs: number): Child {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  let done = false;
  const kill = () => {
    if (done) return;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  };
  const timer = setTimeout(kill, timeoutMs);
  const status = child.output().then((out) => {
    done = true;
    clearTimeout(timer);
    const text = new TextDecoder().decode(out.stderr) +
      new TextDecoder().decode(out.stdout);
    return { code: out.code, stderr: text };
  });
  return { status, kill };
}

/** Reads until the server closes the socket; true if it did within `timeoutMs`. */
async function closedByServer(
  conn: Deno.Conn,
  timeoutMs: number,
): Promise<boolean> {
  const buf = new Uint8Array(65536);
  const deadline = Date.now() + timeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    while (Date.now() < deadline) {
      const timeout = new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), deadline - Date.now());
      });
      const n = await Promise.race([conn.read(buf).catch(() => null), timeout]);
      clearTimeout(timer);
      if (n === "timeout") return false;
      if (n === null) return true;
    }
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** A raw RTMP client over a socket, built from our own codec. */
const isCommand = (name: string) => (m: RtmpMessage) =>
  (m.typeId === 20) && decodeCommand(m.payload, 20).name === name;

Deno.test({
  name:
    "startRtmpServer() serves ffmpeg publish and ffprobe play; bad clients close alone",
  ignore: !HAVE_FFMPEG,
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const lines: string[] = [];
    const log = createLogger("origin", {
      format: "json",
      level: "debug",
      write: (l) => lines.push(l),
    });
    const registry = new StreamRegistry({
      gopCache: true,
      maxGopCacheBytes: 8 << 20,
      flushIntervalMs: 0,
      encoders: {
        flv: { tag: (t: FlvTag) => t.data },
        rtmp: { tag: (t: FlvTag) => encodeRtmpMediaTag(t, OUT_CHUNK_SIZE) },
      },
      log,
    });
    let server: RtmpServer | undefined;
    const children: Child[] = [];
    const conns: Deno.Conn[] = [];
    try {
      server = await startRtmpServer({
        hostname: "127.0.0.1",
        port: 0,
        outChunkSize: OUT_CHUNK_SIZE,
        maxViewerQueueBytes: 16 << 20,
        handshakeTimeoutMs: 500,
      }, { registry, log: log.child("rtmp") });
      const url = `rtmp://127.0.0.1:${server.port}/live/t`;

      const publisher = spawn("ffmpeg", [
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=1000:sample_rate=44100",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-g",
        "50",
        "-c:a",
        "aac",
        "-t",
        "6",
        "-f",
        "flv",
        url,
      ], 30_000);
      children.push(publisher);
      await waitFor(
        "publisher live",
        () => registry.get("live", "t")?.live || undefined,
        10_000,
        50,
      );

      // Garbage: an HTTP request on the RTMP port.
      const garbage = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      conns.push(garbage);
      await garbage.write(
        new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      assert.equal(
        await closedByServer(garbage, 3000),
        true,
        "garbage connection not closed",
      );

      // A handshake that never finishes: closed by the handshake timeout.
      const stalled = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      conns.push(stalled);
      await stalled.write(new Uint8Array([3, 0, 0, 0, 0]));
      assert.equal(
        await closedByServer(stalled, 3000),
        true,
        "stalled handshake not closed",
      );

      // An oversized chunk: a message header claiming 16 MiB − 1.
      const big = await RawClient.connect(server.port);
      conns.push(big.conn);
      await big.conn.write(
        new Uint8Array([
          0x06,
          0,
          0,
          0,
          0xff,
          0xff,
          0xff,
          9,
          1,
          0,
          0,
          0,
          1,
          2,
          3,
        ]),
      );
      assert.equal(
        await closedByServer(big.conn, 3000),
        true,
        "oversized chunk not closed",
      );

      // A second publisher on the same key is refused with NetStream.Publish.BadName.
      const second = spawn("ffmpeg", [
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=25",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-t",
        "2",
        "-f",
        "flv",
        url,
      ], 15_000);
      children.push(second);
      const secondStatus = await second.status;
      assert.notEqual(secondStatus.code, 0);
      assert.match(secondStatus.stderr, /Stream already publishing/);

      // The first publisher is untouched: play it back.
      const probe = spawn("ffprobe", [
        "-v",
        "error",
        "-show_streams",
        "-of",
        "json",
        url,
      ], 15_000);
      children.push(probe);
      const probed = await probe.status;
      assert.equal(probed.code, 0, probed.stderr);
      const json = JSON.parse(probed.stderr.slice(probed.stderr.indexOf("{")));
      const codecs = (json.streams as { codec_name: string }[]).map((s) =>
        s.codec_name
      ).sort();
      assert.deepEqual(codecs, ["aac", "h264"]);

      // A raw player on message stream id 2 gets media re-encoded for its stream id.
      const player = await RawClient.connect(server.port);
      conns.push(player.conn);
      await player.send("connect", 1, { app: "live", tcUrl: url }, []);
      await player.send("createStream", 2, null, []);
      await player.send("createStream", 3, null, []);
      await player.until((m) =>
        isCommand("_result")(m) &&
        decodeCommand(m.payload, 20).transactionId === 3
      );
      await player.send("play", 0, null, ["t"], 2);
      const start = await player.until(isCommand("onStatus"));
      assert.equal(start.streamId, 2);
      const video = await player.until((m) => m.typeId === 9);
      assert.equal(video.streamId, 2);
      player.conn.close();
      conns.splice(conns.indexOf(player.conn), 1);

      const published = await publisher.status;
      assert.equal(published.code, 0, published.stderr);
      await waitFor(
        "stream gone",
        () => registry.get("live", "t") === undefined || undefined,
        5000,
        50,
      );

      const closes = lines.map((l) => JSON.parse(l)).filter((l) =>
        l.msg === "connection closed"
      );
      assert.ok(
        closes.some((l) => l.code === "RTMP_BAD_VERSION"),
        "no log line for garbage",
      );
      assert.ok(
        closes.some((l) =>
          String(l.reason).startsWith("handshake not finished")
        ),
      );
      assert.ok(closes.some((l) => l.code === "RTMP_MESSAGE_TOO_LARGE"));
      assert.ok(
        closes.some((l) =>
          l.reason === "publish refused: NetStream.Publish.BadName"
        ),
      );
    } finally {
      for (const c of children) c.kill();
      await Promise.allSettled(children.map((c) => c.status));
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Closed already.
        }
      }
      await server?.close();
    }
  },
});

Deno.test("startRtmpServer() drops a player over its queue cap and keeps the publisher", async () => {
  const lines: string[] = [];
  const log = createLogger("origin", {
    format: "json",
    write: (l) => lines.push(l),
  });
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 8 << 20,
    flushIntervalMs: 0,
    encoders: {
      flv: { tag: (t: FlvTag) => t.data },
      rtmp: { tag: (t: FlvTag) => encodeRtmpMediaTag(t, OUT_CHUNK_SIZE) },
    },
    log,
  });
  const server = await startRtmpServer({
    hostname: "127.0.0.1",
    port: 0,
    outChunkSize: OUT_CHUNK_SIZE,
    maxViewerQueueBytes: 1000,
  }, { registry, log: log.child("rtmp") });
  const conns: Deno.Conn[] = [];
  try {
    const pub = await RawClient.connect(server.port);
    conns.push(pub.conn);
    await pub.send("connect", 1, { app: "live" }, []);
    await pub.send("createStream", 2, null, []);
    await pub.send("publish", 0, null, ["s", "live"], 1);
    await pub.until(isCommand("onStatus"));
    const keyframe = new Uint8Array(5000);
    keyframe.set([0x17, 0x01]);
    await pub.conn.write(encodeRtmpMessage(
      { csid: 6, typeId: 9, streamId: 1, timestampMs: 0, payload: keyframe },
      128,
    ));
    await waitFor(
      "media in",
      () => (registry.get("live", "s")?.bytesIn ?? 0) >= 5000 || undefined,
      3000,
      50,
    );

    const player = await RawClient.connect(server.port);
    conns.push(player.conn);
    await player.send("connect", 1, { app: "live" }, []);
    await player.send("createStream", 2, null, []);
    await player.send("play", 0, null, ["s"], 1);
    // The start-up burst (a 5000-byte keyframe) passes the 1000-byte cap: dropped at once.
    assert.equal(await closedByServer(player.conn, 3000), true);
    assert.equal(registry.get("live", "s")?.live, true);
    assert.equal(registry.get("live", "s")?.viewerCount, 0);
    const closes = lines.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "connection closed"
    );
    assert.ok(
      closes.some((l) => String(l.reason).startsWith("player too slow")),
      lines.join("\n"),
    );
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // Closed already.
      }
    }
    await server.close();
  }
});
