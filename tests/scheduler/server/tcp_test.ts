/**
 * RFC 7766 limits of the TCP listener over real sockets: pipelined queries answered in order,
 * the per-message deadline (bytes trickling in do not stretch it), the idle timeout, the write
 * deadline, and admission through the connection guard (per-network cap, eviction when full).
 */
import assert from "node:assert/strict";
import { waitFor } from "../../_helpers/peers.ts";
import { readExactly } from "../../_helpers/dns_wire.ts";
import { ConnGuard } from "../../../net/mod.ts";
import { startTcpServer } from "../../../scheduler/server/tcp.ts";
import { frameMessage } from "../../../scheduler/server/tcp_framing.ts";

/** Echo handler: answers each message with itself (the framing is what is under test). */
const echo = (msg: Uint8Array) => msg.slice();

const guard = (maxConnections: number, maxPerAddress = 0) =>
  new ConnGuard({ maxConnections, maxPerAddress, prefixV4: 24, trusted: [] });

/**
 * True when the peer closes within `timeoutMs` (one read; use once per connection, or after
 * every earlier read has finished).
 */
async function closedWithin(
  conn: Deno.Conn,
  timeoutMs: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    conn.read(new Uint8Array(1024)).catch(() => null),
    new Promise<"open">((res) =>
      timer = setTimeout(() => res("open"), timeoutMs)
    ),
  ]);
  clearTimeout(timer);
  return r === null;
}

Deno.test("startTcpServer() answers pipelined queries in order on one connection", async () => {
  const server = startTcpServer("127.0.0.1", 0, echo, {
    idleTimeoutMs: 2000,
    messageTimeoutMs: 2000,
    guard: guard(4),
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const a = new Uint8Array([1, 2, 3]);
    const b = new Uint8Array([4, 5]);
    await conn.write(new Uint8Array([...frameMessage(a), ...frameMessage(b)]));
    assert.deepEqual(
      await readExactly(conn, 9),
      new Uint8Array([0, 3, 1, 2, 3, 0, 2, 4, 5]),
    );
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("startTcpServer() cuts a message trickled a byte at a time at messageTimeoutMs, whatever the bytes", async () => {
  const server = startTcpServer("127.0.0.1", 0, echo, {
    idleTimeoutMs: 60_000,
    messageTimeoutMs: 400,
    guard: guard(4),
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const message = frameMessage(new Uint8Array(40).fill(7)); // 42 bytes: 2.5 s at 60 ms each
    const started = Date.now();
    let closedAt = 0;
    const closed = conn.read(new Uint8Array(64)).catch(() => null).then((n) => {
      closedAt = Date.now();
      return n;
    });
    let sent = 0;
    while (sent < message.length && !closedAt) {
      try {
        await conn.write(message.subarray(sent, sent + 1));
      } catch {
        break;
      }
      sent++;
      await new Promise((r) => setTimeout(r, 60)); // the trickle's pace
    }
    assert.equal(await closed, null, "closed, nothing answered");
    const elapsed = closedAt - started;
    assert.ok(
      sent < message.length,
      `cut after ${sent} of ${message.length} bytes`,
    );
    assert.ok(elapsed >= 300, `not before the deadline (${elapsed} ms)`);
    assert.ok(elapsed < 2000, `at the deadline, not per byte (${elapsed} ms)`);
    await waitFor(
      "the slot to be free",
      () => server.connections === 0 || undefined,
      2000,
      20,
    );
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("startTcpServer() closes a connection idle after its answer at idleTimeoutMs, and a silent one at messageTimeoutMs", async () => {
  const server = startTcpServer("127.0.0.1", 0, echo, {
    idleTimeoutMs: 300,
    messageTimeoutMs: 150,
    guard: guard(4),
  });
  const silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.port,
  });
  const used = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const t0 = Date.now();
    await used.write(frameMessage(new Uint8Array([1])));
    assert.deepEqual(await readExactly(used, 3), new Uint8Array([0, 1, 1]));
    assert.ok(await closedWithin(silent, 2000), "silent connection closed");
    const silentAt = Date.now() - t0;
    assert.ok(await closedWithin(used, 2000), "idle connection closed");
    const usedAt = Date.now() - t0;
    assert.ok(
      silentAt >= 100 && silentAt < usedAt,
      `${silentAt} ms, then ${usedAt} ms`,
    );
    assert.ok(
      usedAt >= 250,
      `the idle timeout runs from the answer (${usedAt} ms)`,
    );
  } finally {
    silent.close();
    used.close();
    await server.close();
  }
});

Deno.test("startTcpServer() closes a client that pipelines queries and never reads at the write deadline", async () => {
  const big = new Uint8Array(60_000);
  const server = startTcpServer("127.0.0.1", 0, () => big, {
    idleTimeoutMs: 60_000,
    messageTimeoutMs: 500,
    guard: guard(4),
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    // 400 one-byte queries ask for 24 MB of answers; nothing is read, the socket buffers fill.
    const queries = new Uint8Array(400 * 3);
    for (let i = 0; i < 400; i++) queries.set([0, 1, i & 0xff], i * 3);
    await conn.write(queries);
    await waitFor(
      "the server to give up writing",
      () => server.connections === 0 || undefined,
      5000,
      50,
    );
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("startTcpServer() refuses a network over its share, and evicts the oldest pending connection when full", async () => {
  const g = guard(3, 2);
  const server = startTcpServer("127.0.0.1", 0, echo, {
    idleTimeoutMs: 60_000,
    messageTimeoutMs: 60_000,
    guard: g,
  });
  const conns: Deno.Conn[] = [];
  try {
    // Loopback is one /24 here (nothing trusted): two slots, then refused.
    for (let i = 0; i < 3; i++) {
      conns.push(
        await Deno.connect({ hostname: "127.0.0.1", port: server.port }),
      );
    }
    assert.ok(
      await closedWithin(conns[2]!, 2000),
      "the third from one /24 is refused",
    );
    assert.equal(g.stats.refusedPerAddress, 1);
    // An answered connection is idle, a silent one pending: at the cap the pending one goes.
    await conns[0]!.write(frameMessage(new Uint8Array([5])));
    assert.deepEqual(
      await readExactly(conns[0]!, 3),
      new Uint8Array([0, 1, 5]),
    );
    const tight = guard(2, 0);
    const full = startTcpServer("127.0.0.1", 0, echo, {
      idleTimeoutMs: 60_000,
      messageTimeoutMs: 60_000,
      guard: tight,
    });
    const f: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        f.push(await Deno.connect({ hostname: "127.0.0.1", port: full.port }));
      }
      await f[1]!.write(frameMessage(new Uint8Array([1])));
      assert.deepEqual(await readExactly(f[1]!, 3), new Uint8Array([0, 1, 1]));
      f.push(await Deno.connect({ hostname: "127.0.0.1", port: full.port }));
      assert.ok(await closedWithin(f[0]!, 2000), "the pending one is evicted");
      await f[2]!.write(frameMessage(new Uint8Array([2])));
      assert.deepEqual(await readExactly(f[2]!, 3), new Uint8Array([0, 1, 2]));
      await f[1]!.write(frameMessage(new Uint8Array([3])));
      assert.deepEqual(
        await readExactly(f[1]!, 3),
        new Uint8Array([0, 1, 3]),
        "the idle one stays",
      );
      assert.equal(tight.stats.evicted, 1);
    } finally {
      for (const c of f) c.close();
      await full.close();
    }
  } finally {
    for (const c of conns) c.close();
    await server.close();
  }
});
