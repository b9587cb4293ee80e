/**
 * The RTMP server's socket writer over a real loopback socket pair: order, the byte cap a
 * slow reader runs into, drained(), close, and a peer that resets.
 */
import assert from "node:assert/strict";
import { SocketWriter } from "../../../origin/rtmp/socket_writer.ts";
import { waitFor } from "../../_helpers/peers.ts";

/** A connected pair: `server` is the side the writer writes to, `client` the peer. */
async function socketPair(): Promise<{ server: Deno.Conn; client: Deno.Conn }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [client, server] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      listener.accept(),
    ]);
    return { server, client };
  } finally {
    listener.close();
  }
}

function closeQuietly(...conns: Deno.Conn[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch { /* already closed */ }
  }
}

/** Reads until `bytes` arrived (or the peer closed, or 5 s passed). */
async function readBytes(conn: Deno.Conn, bytes: number): Promise<Uint8Array> {
  const out = new Uint8Array(bytes);
  let got = 0;
  const timer = setTimeout(() => closeQuietly(conn), 5000);
  try {
    while (got < bytes) {
      const n = await conn.read(out.subarray(got));
      if (n === null) break;
      got += n;
    }
  } finally {
    clearTimeout(timer);
  }
  return out.subarray(0, got);
}

Deno.test("SocketWriter writes queued bytes in order, refuses what would pass the cap, and resolves drained() once written", async () => {
  const { server, client } = await socketPair();
  const errors: unknown[] = [];
  const writer = new SocketWriter(server, (e) => errors.push(e));
  try {
    const piece = (i: number) => new Uint8Array(64 * 1024).fill(i);
    const cap = 256 * 1024;
    // Synchronously: the first piece is in flight, the rest queue behind it up to the cap.
    let taken = 0;
    while (taken < 16 && writer.enqueue(piece(taken + 1), cap)) taken++;
    assert.equal(taken, 4, "four 64 KiB pieces fit a 256 KiB cap");
    assert.equal(writer.queuedBytes, cap);
    // Control output (no cap) is never refused.
    assert.ok(writer.enqueue(new Uint8Array([0xee])));
    const drained = writer.drained();
    const got = await readBytes(client, 4 * 64 * 1024 + 1);
    await drained;
    assert.equal(got.byteLength, 4 * 64 * 1024 + 1);
    for (let i = 0; i < 4; i++) {
      assert.ok(
        got.subarray(i * 65536, (i + 1) * 65536).every((b) => b === i + 1),
        `piece ${i + 1} in place`,
      );
    }
    assert.equal(got[got.byteLength - 1], 0xee);
    assert.equal(writer.queuedBytes, 0);
    assert.ok(writer.enqueue(piece(9), cap), "room again once written");
    await writer.drained();
    writer.close();
    assert.equal(
      writer.enqueue(new Uint8Array(1)),
      false,
      "nothing after close",
    );
    await writer.drained(); // resolves at once when closed
    assert.deepEqual(errors, []);
  } finally {
    writer.close();
    closeQuietly(server, client);
  }
});

Deno.test("SocketWriter reports a failed write to a peer that reset, and nothing after its own close", async () => {
  const { server, client } = await socketPair();
  const errors: unknown[] = [];
  const writer = new SocketWriter(server, (e) => errors.push(e));
  try {
    client.close();
    const piece = new Uint8Array(64 * 1024);
    await waitFor("the write error", () => {
      if (errors.length > 0) return true;
      writer.enqueue(piece);
    }, 5000);
    await writer.drained();
    const reported = errors.length;
    assert.ok(
      errors[0] instanceof Deno.errors.BrokenPipe ||
        errors[0] instanceof Deno.errors.ConnectionReset,
      String(errors[0]),
    );
    writer.close();
    assert.equal(writer.enqueue(piece), false);
    await writer.drained();
    assert.equal(errors.length, reported);
  } finally {
    writer.close();
    closeQuietly(server);
  }
});
