/**
 * Live bodies: liveResponse written by the server from its source (order, the queue cap, a
 * peer that leaves, chunked framing with the connection kept), and createLiveBody on its own
 * and through serveHttp1.
 */
import assert from "node:assert/strict";
import {
  createLiveBody,
  liveResponse,
  type LiveSink,
  serveHttp1,
} from "../../../net/http1/mod.ts";
import { concatAll, dec, enc, withServer } from "./_exchange.ts";

Deno.test("serveHttp1() writes a liveResponse from its source in order, reports the cap to a client that stops reading, and says when it is gone", async () => {
  let gone = 0;
  const opened = Promise.withResolvers<LiveSink>();
  const source = {
    maxQueueBytes: 256 * 1024,
    open(s: LiveSink) {
      opened.resolve(s);
    },
    gone() {
      gone++;
    },
  };
  let pulled = false;
  await withServer(() =>
    liveResponse(
      new Response(
        new ReadableStream({
          pull() {
            pulled = true;
          },
        }, { highWaterMark: 0 }),
        { headers: { "content-type": "video/x-flv" } },
      ),
      source,
    ), async (port) => {
    // In order, then a clean end after the queued bytes: close-framed.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(enc("GET /live.flv HTTP/1.1\r\nHost: x\r\n\r\n"));
    const s = await opened.promise;
    for (const part of ["one,", "two,", "three"]) assert.ok(s.write(enc(part)));
    s.end();
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      chunks.push(buf.slice(0, n));
    }
    conn.close();
    const text = dec(concatAll(chunks));
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.doesNotMatch(text, /transfer-encoding|content-length/i);
    assert.ok(text.endsWith("\r\n\r\none,two,three"), text);
    assert.equal(gone, 1);
    assert.equal(pulled, false, "the server never read the body stream");
    assert.equal(s.write(enc("late")), false, "nothing is taken after the end");

    // A client that stops reading: once the socket buffers are full the writes queue, and
    // the sink reports the cap (bounded: at most 256 MiB offered).
    let next = Promise.withResolvers<LiveSink>();
    source.open = (x: LiveSink) => next.resolve(x);
    const idle = await Deno.connect({ hostname: "127.0.0.1", port });
    await idle.write(enc("GET /live.flv HTTP/1.1\r\nHost: x\r\n\r\n"));
    const t = await next.promise;
    const piece = new Uint8Array(64 * 1024);
    let offered = 0;
    while (offered < 4096 && t.write(piece)) {
      offered++;
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.ok(offered < 4096, "the cap was reported");
    assert.ok(
      offered > 8,
      `the socket took bytes before the queue grew (${offered})`,
    );
    t.end(true);
    idle.close();
    assert.equal(gone, 2);

    // A client that hangs up: the next writes fail and the source hears it, unasked.
    next = Promise.withResolvers<LiveSink>();
    const leaving = await Deno.connect({ hostname: "127.0.0.1", port });
    await leaving.write(enc("GET /live.flv HTTP/1.1\r\nHost: x\r\n\r\n"));
    const u = await next.promise;
    leaving.close();
    for (let i = 0; i < 200 && gone === 2; i++) {
      u.write(piece);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(gone, 3);
    assert.equal(u.write(piece), false);
  });
});

Deno.test("serveHttp1() frames a chunked liveResponse, ends it with the last chunk and keeps the connection", async () => {
  let opened = Promise.withResolvers<LiveSink>();
  const shared = enc("shared");
  await withServer(
    (req) =>
      new URL(req.url).pathname === "/next"
        ? new Response("next")
        : liveResponse(
          new Response(new ReadableStream({}, { highWaterMark: 0 })),
          {
            maxQueueBytes: 1 << 20,
            framing: "chunked",
            open: (sink) => opened.resolve(sink),
            gone() {},
          },
        ),
    async (port) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(enc("GET /live.flv HTTP/1.1\r\nHost: x\r\n\r\n"));
        const sink = await opened.promise;
        assert.ok(sink.write(shared));
        assert.ok(sink.write(enc("ab"))); // queued behind the first write, framed on its own
        sink.end();
        let text = "";
        const buf = new Uint8Array(65536);
        while (!text.endsWith("0\r\n\r\n")) {
          const n = await conn.read(buf);
          assert.ok(n !== null, `closed early: ${text}`);
          text += dec(buf.subarray(0, n));
        }
        assert.match(text, /\r\ntransfer-encoding: chunked\r\n/i);
        assert.doesNotMatch(text, /connection: close/i);
        assert.ok(
          text.endsWith("\r\n\r\n6\r\nshared\r\n2\r\nab\r\n0\r\n\r\n"),
          JSON.stringify(text),
        );
        // The same connection carries the next request.
        opened = Promise.withResolvers<LiveSink>();
        await conn.write(enc("GET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
        let next = "";
        while (!next.endsWith("next")) {
          const n = await conn.read(buf);
          assert.ok(n !== null);
          next += dec(buf.subarray(0, n));
        }
        assert.match(next, /^HTTP\/1\.1 200 OK\r\n/);
      } finally {
        conn.close();
      }
    },
  );
});

Deno.test("createLiveBody() keeps bytes written before a reader binds, and reports the cap", async () => {
  let gone = 0;
  const { response, out } = createLiveBody({
    maxQueueBytes: 8,
    headers: { "content-type": "video/x-flv" },
    gone: () => gone++,
  });
  assert.ok(out.write(enc("FLV")));
  assert.ok(out.write(enc("hdr")));
  assert.equal(out.write(enc("toolong")), false, "13 unsent bytes > cap 8");
  out.end(false, "stream ended");
  assert.equal(out.write(enc("late")), false, "nothing after the end");
  assert.equal(await response.text(), "FLVhdrtoolong");
  assert.equal(gone, 0, "the caller's own end is not reported back");
});

Deno.test("createLiveBody() reports a reader that cancels once, and ends a dropped body with an error", async () => {
  let gone = 0;
  const a = createLiveBody({
    maxQueueBytes: 1 << 20,
    headers: {},
    gone: () => gone++,
  });
  const reader = a.response.body!.getReader();
  a.out.write(enc("x"));
  assert.deepEqual((await reader.read()).value, enc("x"));
  await reader.cancel();
  await reader.cancel();
  assert.equal(gone, 1);
  assert.equal(
    a.out.write(enc("y")),
    false,
    "a write after the cancel reports, never throws",
  );
  a.out.end(false, "unpublished"); // nor does an end

  const b = createLiveBody({ maxQueueBytes: 1 << 20, headers: {}, gone() {} });
  b.out.write(enc("part"));
  b.out.end(true, "slow viewer");
  await assert.rejects(b.response.arrayBuffer(), /slow viewer/);
});

Deno.test("createLiveBody() through serveHttp1: early bytes first, chunked, then a clean last chunk", async () => {
  let gone = 0;
  let feed: ReturnType<typeof createLiveBody>["out"] | undefined;
  const server = serveHttp1(
    { hostname: "127.0.0.1", port: 0 },
    () => {
      const { response, out } = createLiveBody({
        maxQueueBytes: 1 << 20,
        framing: "chunked",
        headers: { "content-type": "video/x-flv" },
        gone: () => gone++,
      });
      out.write(enc("early")); // before the server has the response
      feed = out;
      return response;
    },
  );
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/live/t.flv`);
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    const reader = res.body!.getReader();
    let text = "";
    const dec = new TextDecoder();
    while (!text.includes("early")) {
      text += dec.decode((await reader.read()).value);
    }
    feed!.write(enc("-more"));
    feed!.end(false, "unpublished");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    assert.equal(text, "early-more");
    assert.equal(gone, 0);
  } finally {
    await server.shutdown(1000);
  }
});
