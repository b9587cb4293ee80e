/**
 * The RTMP server against slow and greedy clients, over real sockets: a handshake or a chunk
 * header trickled a byte at a time, one address holding many sockets, a listener full of
 * pending sockets next to a publisher and a player, and publishes past `maxStreams`.
 */
import assert from "node:assert/strict";
import {
  decodeCommand,
  encodeCommand,
  encodeRtmpMediaTag,
  encodeRtmpMessage,
  type RtmpMessage,
} from "../../../codec/rtmp/mod.ts";
import type { FlvTag } from "../../../codec/flv/types.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import {
  ConnGuard,
  parseTrustedNetworks,
  registerConnGuard,
} from "../../../net/mod.ts";
import { createLogger } from "../../../origin/log.ts";
import {
  type RtmpServer,
  type RtmpServerOptions,
  startRtmpServer,
} from "../../../origin/rtmp/mod.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import { waitFor } from "../../_helpers/peers.ts";
import { RawClient } from "../../_helpers/rtmp_client.ts";
import { connectFrom, readUntil, trickle } from "../../_helpers/sockets.ts";

const log = createLogger("origin", { format: "json", write: () => {} });

function newRegistry(): StreamRegistry {
  return new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: {
      flv: { tag: (t: FlvTag) => t.data },
      rtmp: { tag: (t: FlvTag) => encodeRtmpMediaTag(t, 4096) },
    },
    log,
  });
}

async function withServer(
  options: Partial<RtmpServerOptions>,
  guard: ConnGuard | undefined,
  fn: (server: RtmpServer, registry: StreamRegistry) => Promise<void>,
): Promise<void> {
  const registry = newRegistry();
  const server = await startRtmpServer({
    hostname: "127.0.0.1",
    port: 0,
    outChunkSize: 4096,
    maxViewerQueueBytes: 1 << 20,
    ...options,
  }, { registry, log, guard });
  try {
    await fn(server, registry);
  } finally {
    await server.close();
  }
}

/** C0 + C1 of the simple (non-digest) handshake: version 3, time, zero, 1528 bytes. */
function c0c1(): Uint8Array {
  const b = new Uint8Array(1537);
  b[0] = 3;
  for (let i = 9; i < b.length; i++) b[i] = (i * 31) & 0xff;
  return b;
}

const isStatus = (m: RtmpMessage) =>
  m.typeId === 20 && decodeCommand(m.payload, 20).name === "onStatus";
const statusCode = (m: RtmpMessage) =>
  (decodeCommand(m.payload, 20).args[0] as { code: string }).code;

function closeAll(conns: Iterable<Deno.Conn>): void {
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed by the server */ }
  }
}

async function publish(port: number, name: string): Promise<RawClient> {
  const pub = await RawClient.connect(port);
  await pub.send("connect", 1, { app: "live" }, []);
  await pub.send("createStream", 2, null, []);
  await pub.send("publish", 0, null, [name, "live"], 1);
  return pub;
}

Deno.test("startRtmpServer() cuts a handshake trickled at 1 byte per 100 ms at handshakeTimeoutMs", async () => {
  await withServer({ handshakeTimeoutMs: 500 }, undefined, async (server) => {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    try {
      const r = await trickle(conn, c0c1(), 100, 4000);
      assert.equal(
        r.closed,
        true,
        `not cut after ${r.ms} ms (${r.sent} bytes)`,
      );
      assert.ok(r.ms >= 450 && r.ms < 1200, `cut after ${r.ms} ms`);
    } finally {
      closeAll([conn]);
    }
  });
});

Deno.test("startRtmpServer() cuts a command trickled after the handshake at the deadline from accept, not per byte", async () => {
  // handshake by 300 ms, publish or play by 3 x 300 ms of accept.
  await withServer({ handshakeTimeoutMs: 300 }, undefined, async (server) => {
    const t0 = Date.now();
    const client = await RawClient.connect(server.port);
    try {
      const connect = encodeRtmpMessage(
        encodeCommand({
          name: "connect",
          transactionId: 1,
          commandObject: { app: "live" },
          args: [],
        }, 0),
        128,
      );
      // Long enough to outlast the deadline at one byte per 100 ms (a chunk header, then more).
      const r = await trickle(client.conn, connect, 100, 4000);
      const fromAccept = Date.now() - t0;
      assert.equal(
        r.closed,
        true,
        `not cut after ${r.ms} ms (${r.sent} bytes)`,
      );
      assert.ok(r.sent < connect.length, "the whole command got through");
      assert.ok(
        fromAccept >= 850 && fromAccept < 1800,
        `cut ${fromAccept} ms after accept`,
      );
    } finally {
      closeAll([client.conn]);
    }
  });
});

Deno.test("startRtmpServer() with a guard refuses the N+1th socket of one address while another address is served", async () => {
  const metrics = new MetricsRegistry();
  const guard = new ConnGuard({
    maxConnections: 100,
    maxPerAddress: 3,
    trusted: parseTrustedNetworks(["10.0.0.0/8"]),
  });
  registerConnGuard(metrics, "origin_rtmp", guard);
  await withServer({}, guard, async (server) => {
    const held: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        held.push(
          await Deno.connect({ hostname: "127.0.0.1", port: server.port }),
        );
      }
      await waitFor("three held", () => guard.open === 3 || undefined);
      const fourth = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      held.push(fourth);
      await fourth.write(c0c1()).catch(() => {});
      const r = await readUntil(fourth, 3000);
      assert.equal(r.closed, true);
      assert.equal(r.bytes, 0, "a refused socket gets no handshake");

      const other = await connectFrom("127.0.0.2", server.port);
      try {
        await other.write(c0c1());
        const o = await other.read(3000);
        // S0 + S1 + S2: the handshake goes on.
        assert.ok(o.bytes >= 3073, `got ${o.bytes} bytes`);
        assert.equal(o.closed, false);
      } finally {
        other.close();
      }
      assert.match(
        metrics.render(),
        /meridian_connections_refused_total\{listener="origin_rtmp",reason="per_address"\} 1\n/,
      );
    } finally {
      closeAll(held);
    }
  });
});

Deno.test("startRtmpServer() with a guard evicts pending sockets for a fresh client and never a publisher or a player", async () => {
  const guard = new ConnGuard({
    maxConnections: 4,
    maxPerAddress: 0,
    trusted: [],
  });
  await withServer({ handshakeTimeoutMs: 10_000 }, guard, async (server) => {
    const held: Deno.Conn[] = [];
    try {
      const pub = await publish(server.port, "a");
      held.push(pub.conn);
      assert.equal(
        statusCode(await pub.until(isStatus)),
        "NetStream.Publish.Start",
      );
      const player = await RawClient.connect(server.port);
      held.push(player.conn);
      await player.send("connect", 1, { app: "live" }, []);
      await player.send("createStream", 2, null, []);
      await player.send("play", 0, null, ["a"], 1);
      await player.until(isStatus);

      // Ten sockets that send half a handshake and wait: each evicts the oldest such one.
      const slow: Deno.Conn[] = [];
      for (let i = 0; i < 10; i++) {
        const c = await Deno.connect({
          hostname: "127.0.0.1",
          port: server.port,
        });
        slow.push(c);
        held.push(c);
        await c.write(c0c1().subarray(0, 100));
      }
      await waitFor("evictions", () => guard.stats.evicted >= 8 || undefined);
      assert.equal(guard.open, 4);
      assert.equal((await readUntil(slow[0]!, 2000)).closed, true);

      // A fresh client gets through the handshake and connect.
      const t0 = Date.now();
      const fresh = await RawClient.connect(server.port);
      held.push(fresh.conn);
      await fresh.send("connect", 1, { app: "live" }, []);
      await fresh.until((m) =>
        m.typeId === 20 && decodeCommand(m.payload, 20).name === "_result"
      );
      const freshMs = Date.now() - t0;
      assert.ok(freshMs < 1000, `fresh client waited ${freshMs} ms`);

      // The publisher and the player were never touched: a tag still goes through.
      await pub.sendTag({
        type: 9,
        timestampMs: 40,
        data: new Uint8Array([0x17, 1, 0, 0, 0, 7, 7, 7]),
      });
      const video = await player.until((m) => m.typeId === 9);
      assert.equal(video.payload[5], 7);

      // What is left holding slots: the publisher, the player and the fresh client.
      closeAll(slow);
      await waitFor("slow released", () => guard.open === 3 || undefined);
      assert.equal(guard.stats.evicted, 9);
    } finally {
      closeAll(held);
    }
  });
});

Deno.test("startRtmpServer() refuses a publish past maxStreams with NetStream.Publish.Rejected and counts it", async () => {
  await withServer({ maxStreams: 1 }, undefined, async (server, registry) => {
    const conns: Deno.Conn[] = [];
    try {
      const first = await publish(server.port, "one");
      conns.push(first.conn);
      assert.equal(
        statusCode(await first.until(isStatus)),
        "NetStream.Publish.Start",
      );
      const second = await publish(server.port, "two");
      conns.push(second.conn);
      const refused = await second.until(isStatus);
      assert.equal(statusCode(refused), "NetStream.Publish.Rejected");
      const info = decodeCommand(refused.payload, 20).args[0] as {
        level: string;
        description: string;
      };
      assert.equal(info.level, "error");
      assert.match(info.description, /maximum of 1 live streams/);
      assert.equal(registry.get("live", "two"), undefined);
      assert.deepEqual([...server.refusals()], [[
        "publish",
        "max_streams",
        1,
      ]]);
      // The first stream's end frees the slot.
      first.conn.close();
      await waitFor("the slot", () => registry.size === 0 || undefined);
      const third = await publish(server.port, "three");
      conns.push(third.conn);
      assert.equal(
        statusCode(await third.until(isStatus)),
        "NetStream.Publish.Start",
      );
    } finally {
      closeAll(conns);
    }
  });
});
