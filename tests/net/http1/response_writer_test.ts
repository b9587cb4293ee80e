/**
 * Response framing over real sockets: chunked and close-delimited streams, HEAD, a 500 for a
 * handler that throws, and a body cancelled when its client hangs up.
 */
import assert from "node:assert/strict";
import { closeDelimited } from "../../../net/http1/mod.ts";
import { enc, exchange, withServer } from "./_exchange.ts";

Deno.test("serveHttp1() frames a stream chunked, and a closeDelimited stream by closing", async () => {
  const stream = () =>
    new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(enc("one,"));
        await new Promise((r) => setTimeout(r, 20));
        c.enqueue(enc("two"));
        c.close();
      },
    });
  await withServer((req) => {
    const res = new Response(stream(), {
      headers: { "content-type": "video/x-flv" },
    });
    return new URL(req.url).pathname === "/live.flv"
      ? closeDelimited(res)
      : res;
  }, async (port) => {
    const chunked = await exchange(
      port,
      "GET /seg HTTP/1.1\r\nHost: x\r\n\r\n",
      {
        untilText: "0\r\n\r\n",
      },
    );
    assert.match(chunked.text, /transfer-encoding: chunked\r\n/);
    assert.ok(
      chunked.text.endsWith("\r\n\r\n4\r\none,\r\n3\r\ntwo\r\n0\r\n\r\n"),
      chunked.text,
    );
    const live = await exchange(
      port,
      "GET /live.flv HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert.equal(live.closed, true);
    assert.match(live.text, /connection: close\r\n/);
    assert.doesNotMatch(live.text, /transfer-encoding|content-length/);
    assert.ok(live.text.endsWith("\r\n\r\none,two"), live.text);
    // An ordinary client reads both.
    assert.equal(
      await (await fetch(`http://127.0.0.1:${port}/seg`)).text(),
      "one,two",
    );
    assert.equal(
      await (await fetch(`http://127.0.0.1:${port}/live.flv`)).text(),
      "one,two",
    );
  });
});

Deno.test("serveHttp1() answers HEAD without a body, and a 500 when the handler throws", async () => {
  await withServer((req) => {
    if (new URL(req.url).pathname === "/boom") throw new Error("handler bug");
    return new Response("12345", { headers: { "content-length": "5" } });
  }, async (port) => {
    const r = await exchange(
      port,
      "HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(r.text, /content-length: 5\r\n/);
    assert.ok(r.text.endsWith("\r\n\r\n"), r.text);
    const boom = await fetch(`http://127.0.0.1:${port}/boom`);
    assert.equal(boom.status, 500);
    await boom.body?.cancel();
  }, { onError: () => {} });
});

Deno.test("serveHttp1() cancels a stream's body when the client hangs up", async () => {
  let cancelled = false;
  let pushes = 0;
  await withServer(() =>
    closeDelimited(
      new Response(
        new ReadableStream<Uint8Array>({
          async pull(c) {
            pushes++;
            await new Promise((r) => setTimeout(r, 5));
            c.enqueue(new Uint8Array(16 * 1024));
          },
          cancel() {
            cancelled = true;
          },
        }),
      ),
    ), async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(enc("GET /live.flv HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buf = new Uint8Array(4096);
    await conn.read(buf);
    conn.close();
    for (let i = 0; i < 100 && !cancelled; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(cancelled, true, `body not cancelled after ${pushes} pulls`);
  });
});
