import assert from "node:assert/strict";
import {
  decodeCommand,
  encodeRtmpMediaTag,
  type RtmpMessage,
} from "../../../codec/rtmp/mod.ts";
import type { FlvTag } from "../../../codec/flv/types.ts";
import { createLogger } from "../../../origin/log.ts";
import { startRtmpServer } from "../../../origin/rtmp/mod.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import { RawClient } from "../../_helpers/rtmp_client.ts";

const isCommand = (name: string) => (m: RtmpMessage) =>
  m.typeId === 20 && decodeCommand(m.payload, 20).name === name;

async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(65536);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return true;
  }
  return false;
}

Deno.test("startRtmpServer() closes a connection that neither publishes nor plays, and an idle publisher", async () => {
  const lines: string[] = [];
  const log = createLogger("origin", {
    format: "json",
    write: (l) => lines.push(l),
  });
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: {
      flv: { tag: (t: FlvTag) => t.data },
      rtmp: { tag: (t: FlvTag) => encodeRtmpMediaTag(t, 4096) },
    },
    log,
  });
  const server = await startRtmpServer({
    hostname: "127.0.0.1",
    port: 0,
    outChunkSize: 4096,
    maxViewerQueueBytes: 1 << 20,
    handshakeTimeoutMs: 150,
  }, { registry, log: log.child("rtmp") });
  const idle = await RawClient.connect(server.port);
  const pub = await RawClient.connect(server.port);
  try {
    await idle.send("connect", 1, { app: "live" }, []);
    await pub.send("connect", 1, { app: "live" }, []);
    await pub.send("createStream", 2, null, []);
    await pub.until((m) =>
      isCommand("_result")(m) &&
      decodeCommand(m.payload, 20).transactionId === 2
    );
    await pub.send("publish", 0, null, ["stall", "live"], 1);
    await pub.until(isCommand("onStatus"));
    await pub.sendTag({
      type: 9,
      timestampMs: 0,
      data: new Uint8Array([0x17, 1, 0, 0, 0, 1]),
    });
    assert.ok(registry.get("live", "stall"));
    assert.ok(
      await closedWithin(idle.conn, 3000),
      "idle connection not closed",
    );
    // The publisher sent one tag and then nothing: dropped, and the stream ends.
    await pub.until(() => false, 3000).catch(() => {});
    assert.equal(registry.get("live", "stall"), undefined);
    const reasons = lines.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "connection closed"
    ).map((l) => String(l.reason));
    assert.ok(
      reasons.some((r) => r.startsWith("no publish or play within")),
      reasons.join("; "),
    );
    assert.ok(
      reasons.some((r) => r.startsWith("publisher sent nothing for")),
      reasons.join("; "),
    );
  } finally {
    idle.conn.close();
    try {
      pub.conn.close();
    } catch {
      // closed by the server already
    }
    await server.close();
  }
});
