/**
 * RFC 7766 limits of the TCP listener over real sockets: pipelined queries answered in order, the
 * idle timeout, and the connection cap.
 */
import assert from "node:assert/strict";
import { startTcpServer } from "../../../scheduler/server/tcp.ts";
import { frameMessage } from "../../../scheduler/server/tcp_framing.ts";

/** Echo handler: answers each message with itself (the framing is what is under test). */
const echo = (msg: Uint8Array) => msg.slice();

async function readAll(
  conn: Deno.Conn,
  want: number,
  timeoutMs: number,
): Promise<Uint8Array | null> {
  const out: number[] = [];
  const buf = new Uint8Array(4096);
  const deadline = Date.now() + timeoutMs;
  while (out.length < want && Date.now() < deadline) {
    const n = await conn.read(buf);
    if (n === null) return out.length ? new Uint8Array(out) : null;
    out.push(...buf.subarray(0, n));
  }
  return new Uint8Array(out);
}

Deno.test("startTcpServer() answers pipelined queries in order on one connection", async () => {
  const server = startTcpServer("127.0.0.1", 0, echo, {
    idleTimeoutMs: 2000,
    maxConnections: 4,
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const a = new Uint8Array([1, 2, 3]);
    const b = new Uint8Array([4, 5]);
    await conn.write(new Uint8Array([...frameMessage(a), ...frameMessage(b)]));
    const got = await readAll(conn, 9, 2000);
    assert.deepEqual(got, new Uint8Array([0, 3, 1, 2, 3, 0, 2, 4, 5]));
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("startTcpServer() closes an idle connection after idleTimeoutMs", async () => {
  const server = startTcpServer("127.0.0.1", 0, echo, {
    idleTimeoutMs: 150,
    maxConnections: 4,
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const started = Date.now();
    const n = await conn.read(new Uint8Array(16));
    assert.equal(n, null, "the server closed the idle connection");
    assert.ok(Date.now() - started >= 100, "not before the timeout");
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("startTcpServer() closes connections over maxConnections at once and keeps serving the others", async () => {
  const server = startTcpServer("127.0.0.1", 0, echo, {
    idleTimeoutMs: 5000,
    maxConnections: 2,
  });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const c = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      conns.push(c);
      // A round trip makes sure the server has accepted and counted it.
      await c.write(frameMessage(new Uint8Array([i])));
      assert.deepEqual(await readAll(c, 3, 2000), new Uint8Array([0, 1, i]));
    }
    assert.equal(server.connections, 2);
    const extra = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    conns.push(extra);
    assert.equal(
      await extra.read(new Uint8Array(16)),
      null,
      "over the cap: closed at once",
    );
    await conns[0]!.write(frameMessage(new Uint8Array([9])));
    assert.deepEqual(
      await readAll(conns[0]!, 3, 2000),
      new Uint8Array([0, 1, 9]),
    );
  } finally {
    for (const c of conns) c.close();
    await server.close();
  }
});
