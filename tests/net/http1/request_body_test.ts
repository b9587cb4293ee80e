/**
 * Request bodies over real sockets: Content-Length and chunked, 100 Continue (raw and from
 * curl), and a body trickled past the request deadline.
 */
import assert from "node:assert/strict";
import { trickle } from "../../_helpers/sockets.ts";
import {
  closeAll,
  connect,
  dec,
  enc,
  exchange,
  start,
  withServer,
} from "./_exchange.ts";

Deno.test("serveHttp1() reads Content-Length and chunked request bodies, answering 100 Continue", async () => {
  await withServer(
    async (req) => new Response(`${req.method}:${await req.text()}`),
    async (port) => {
      const a = await exchange(
        port,
        "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
      );
      assert.ok(a.text.endsWith("POST:hello"), a.text);
      const b = await exchange(
        port,
        "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      );
      assert.ok(b.text.endsWith("POST:abcde"), b.text);
      // Expect: 100-continue gets its interim answer before the body is sent.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(
          enc(
            "PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
          ),
        );
        const buf = new Uint8Array(1024);
        const n = await conn.read(buf);
        assert.equal(dec(buf.subarray(0, n!)), "HTTP/1.1 100 Continue\r\n\r\n");
        await conn.write(enc("ok"));
        let text = "";
        for (;;) {
          const m = await conn.read(buf);
          if (m === null) break;
          text += dec(buf.subarray(0, m));
        }
        assert.ok(text.endsWith("PUT:ok"), text);
      } finally {
        conn.close();
      }
      // curl, with a body large enough that it sends Expect itself.
      const body = "x".repeat(5000);
      const curl = await new Deno.Command("curl", {
        args: [
          "-sS",
          "--max-time",
          "5",
          "--data-binary",
          body,
          `http://127.0.0.1:${port}/p`,
        ],
        stdout: "piped",
      }).output();
      assert.equal(dec(curl.stdout), `POST:${body}`);
    },
  );
});

Deno.test("serveHttp1() cuts a request body trickled at 1 byte per 100 ms at the same deadline", async () => {
  let handled = 0;
  const server = start(() => {
    handled++;
    return new Response("x");
  }, { headTimeoutMs: 700, idleTimeoutMs: 60_000 });
  const conn = await connect(server);
  try {
    await conn.write(
      enc("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"),
    );
    const r = await trickle(conn, "b".repeat(100), 100, 4000);
    assert.equal(r.closed, true, `not cut after ${r.ms} ms (${r.sent} bytes)`);
    assert.ok(r.ms < 1700, `cut after ${r.ms} ms`);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.equal(handled, 0);
  } finally {
    closeAll([conn]);
    await server.shutdown(500);
  }
});
