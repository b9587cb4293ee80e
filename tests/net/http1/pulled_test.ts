import assert from "node:assert/strict";
import { pulledResponse } from "../../../net/http1/mod.ts";
import { withServer } from "./_exchange.ts";

/** A pulled body that hands out ONE buffer, refilled with a new value before every read. */
function reusingBody(chunks: number, size: number) {
  const buf = new Uint8Array(size);
  let i = 0;
  let cancelled = 0;
  return {
    body: {
      read() {
        if (i === chunks) return Promise.resolve(null);
        buf.fill(i++ & 0xff);
        return Promise.resolve(buf);
      },
      cancel() {
        cancelled++;
      },
    },
    cancelled: () => cancelled,
  };
}

Deno.test("serveHttp1() writes a pulledResponse's buffers in order, each before the next read, never reading the stream", async () => {
  let streamRead = false;
  const lazy = () =>
    new ReadableStream<Uint8Array>({
      pull() {
        streamRead = true;
      },
    }, { highWaterMark: 0 });
  const sources: ReturnType<typeof reusingBody>[] = [];
  await withServer((req) => {
    // 5 chunks of 100 KiB (over the size a head is joined with) and one of 10 bytes.
    const big = new URL(req.url).pathname === "/big";
    const s = reusingBody(big ? 5 : 1, big ? 100 * 1024 : 10);
    sources.push(s);
    const length = big ? 5 * 100 * 1024 : 10;
    return pulledResponse(
      new Response(lazy(), { headers: { "content-length": String(length) } }),
      s.body,
    );
  }, async (port) => {
    for (const path of ["/big", "/small", "/big"]) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      const bytes = await res.bytes();
      const chunks = path === "/big" ? 5 : 1;
      const size = path === "/big" ? 100 * 1024 : 10;
      assert.equal(bytes.length, chunks * size);
      for (let c = 0; c < chunks; c++) {
        // A writer that read ahead would send the last value in every chunk.
        assert.equal(bytes[c * size], c, `${path} chunk ${c} first byte`);
        assert.equal(
          bytes[c * size + size - 1],
          c,
          `${path} chunk ${c} last byte`,
        );
      }
    }
    const head = await fetch(`http://127.0.0.1:${port}/big`, {
      method: "HEAD",
    });
    assert.equal(head.headers.get("content-length"), String(5 * 100 * 1024));
    await head.body?.cancel();
  });
  assert.equal(streamRead, false, "the response's own stream was read");
  for (const s of sources) {
    assert.ok(s.cancelled() >= 1, "each body was released");
  }
});

Deno.test("serveHttp1() closes the connection when a pulledResponse's body is shorter than its length, or fails", async () => {
  await withServer((req) => {
    const fail = new URL(req.url).pathname === "/fail";
    let n = 0;
    return pulledResponse(
      new Response("unused", { headers: { "content-length": "100" } }),
      {
        read() {
          if (fail && n > 0) return Promise.reject(new Error("disk gone"));
          return Promise.resolve(n++ === 0 ? new Uint8Array(10) : null);
        },
        cancel() {},
      },
    );
  }, async (port) => {
    for (const path of ["/short", "/fail"]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(
        new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`),
      );
      let total = 0;
      const buf = new Uint8Array(4096);
      const deadline = setTimeout(() => conn.close(), 3000);
      let closedByServer = false;
      for (;;) {
        const r = await conn.read(buf).catch(() => null);
        if (r === null) {
          closedByServer = true;
          break;
        }
        total += r;
      }
      clearTimeout(deadline);
      try {
        conn.close();
      } catch { /* closed */ }
      assert.ok(closedByServer, `${path}: the server ended the connection`);
      assert.ok(
        total > 10 && total < 300,
        `${path}: head + 10 body bytes, got ${total}`,
      );
    }
  });
});
