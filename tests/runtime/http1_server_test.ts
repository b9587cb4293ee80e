/**
 * The HTTP/1.1 server over real sockets: raw TCP clients for exact bytes (pipelining, framing,
 * refusals, hang-ups), fetch and curl as ordinary clients.
 */
import assert from "node:assert/strict";
import {
  closeDelimited,
  type Http1Handler,
  type Http1ServerOptions,
  liveResponse,
  type LiveSink,
  serveHttp1,
} from "../../runtime/http1_server.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function withServer(
  handler: Http1Handler,
  fn: (port: number) => Promise<void>,
  options: Partial<Http1ServerOptions> = {},
): Promise<void> {
  const server = serveHttp1(
    { hostname: "127.0.0.1", port: 0, ...options },
    handler,
  );
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown(1000);
  }
}

/** Sends `wire`, reads until the server closes (or `untilBytes` arrived, or 3 s passed). */
async function exchange(
  port: number,
  wire: string | Uint8Array,
  opts: { untilText?: string; closeAfterWrite?: boolean } = {},
): Promise<{ text: string; closed: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunks: Uint8Array[] = [];
  let closed = false;
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, 3000);
  try {
    await conn.write(typeof wire === "string" ? enc(wire) : wire);
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) {
        closed = true;
        break;
      }
      chunks.push(buf.slice(0, n));
      if (opts.untilText && dec(concatAll(chunks)).includes(opts.untilText)) {
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
  return { text: dec(concatAll(chunks)), closed };
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("serveHttp1() answers pipelined requests in order on one connection, with lengths for byte bodies", async () => {
  await withServer(
    (req) => new Response(`path=${new URL(req.url).pathname}`),
    async (port) => {
      const r = await exchange(
        port,
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /bb HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      assert.equal(r.closed, true);
      const heads = r.text.split("HTTP/1.1 200 OK\r\n").slice(1);
      assert.equal(heads.length, 3, r.text);
      assert.match(heads[0]!, /content-length: 7\r\n/);
      assert.match(heads[0]!, /\r\ndate: \w{3}, \d\d \w{3} \d{4} /);
      assert.ok(heads[0]!.endsWith("\r\n\r\npath=/a"));
      assert.ok(heads[1]!.endsWith("\r\n\r\npath=/bb"));
      assert.match(heads[2]!, /connection: close\r\n/);
      assert.ok(heads[2]!.endsWith("\r\n\r\npath=/c"));
    },
  );
});

Deno.test("serveHttp1() writes fast-path answers verbatim without calling the handler", async () => {
  let handled = 0;
  const answer = enc("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfast");
  await withServer(() => {
    handled++;
    return new Response("slow");
  }, async (port) => {
    const res = await fetch(`http://127.0.0.1:${port}/hot`);
    assert.equal(await res.text(), "fast");
    const res2 = await fetch(`http://127.0.0.1:${port}/cold`);
    assert.equal(await res2.text(), "slow");
    assert.equal(handled, 1);
  }, { fastPath: (head) => head.target === "/hot" ? [answer] : undefined });
});

Deno.test("serveHttp1() streams a later fast-path answer, falls back to the handler on undefined, and cuts a broken one", async () => {
  let handled = 0;
  const gate = Promise.withResolvers<void>();
  async function* streamed() {
    yield enc("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nfirst");
    await gate.promise;
    yield enc("-last");
  }
  async function* broken() {
    yield enc("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf");
    throw new Error("the body broke");
  }
  await withServer(() => {
    handled++;
    return new Response("handler");
  }, async (port) => {
    // Keep-alive: the streamed answer, then a fallback on the same connection.
    const res = await fetch(`http://127.0.0.1:${port}/later`);
    const reader = res.body!.getReader();
    assert.equal(dec((await reader.read()).value!), "first");
    gate.resolve();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      rest += dec(r.value);
    }
    assert.equal(rest, "-last");
    const res2 = await fetch(`http://127.0.0.1:${port}/undecided`);
    assert.equal(await res2.text(), "handler");
    assert.equal(handled, 1);
    // A broken body ends the connection: the peer sees 4 of 10 bytes and the close.
    const cut = await exchange(
      port,
      "GET /broken HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert.ok(cut.closed);
    assert.ok(cut.text.endsWith("\r\n\r\nhalf"), cut.text);
  }, {
    fastPath: (head) =>
      head.target === "/later"
        ? Promise.resolve(streamed())
        : head.target === "/undecided"
        ? new Promise((r) => setTimeout(() => r(undefined), 10))
        : head.target === "/broken"
        ? Promise.resolve(broken())
        : undefined,
  });
});

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

Deno.test("serveHttp1() refuses bad heads with the RFC status and one error line, and keeps serving", async () => {
  const errors: string[] = [];
  await withServer(() => new Response("fine"), async (port) => {
    const cases: [string, number][] = [
      ["GARBAGE\r\n\r\n", 400],
      [
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
      ],
      ["GET / HTTP/2.0\r\n\r\n", 505],
      [`GET / HTTP/1.1\r\nX: ${"a".repeat(20_000)}\r\n\r\n`, 431],
      ["GET / HTTP/1.1\r\n\r\n", 400], // HTTP/1.1 without Host
      ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413],
      [
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
      ],
    ];
    for (const [wire, status] of cases) {
      const r = await exchange(port, wire);
      assert.ok(
        r.text.startsWith(`HTTP/1.1 ${status} `),
        `${wire.slice(0, 40)}: ${r.text.slice(0, 80)}`,
      );
      assert.equal(r.closed, true);
    }
    // Random bytes never take the server down.
    for (let i = 0; i < 20; i++) {
      const junk = crypto.getRandomValues(new Uint8Array(64 + i * 50));
      await exchange(port, junk);
    }
    assert.equal(
      await (await fetch(`http://127.0.0.1:${port}/`)).text(),
      "fine",
    );
  }, {
    maxBodyBytes: 1024,
    onError: (m, ctx) => errors.push(`${m} ${JSON.stringify(ctx)}`),
  });
  assert.ok(errors.some((e) => e.includes("431")), errors.join("\n"));
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

Deno.test("serveHttp1() answers a head that never completes with 408 at headTimeoutMs", async () => {
  await withServer(() => new Response("x"), async (port) => {
    const t0 = Date.now();
    const r = await exchange(port, "GET / HT"); // a head that never completes
    const waited = Date.now() - t0;
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.equal(r.closed, true);
    assert.ok(waited >= 150 && waited < 2500, `closed after ${waited} ms`);
  }, { headTimeoutMs: 200 });
});

Deno.test("serveHttp1() refuses what RFC 9112 and RFC 9110 refuse before the fast path or the handler sees it", async () => {
  let fast = 0;
  let handled = 0;
  const hit = enc(
    "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nhit",
  );
  await withServer((req) => {
    handled++;
    return new Response(`${req.method} ${new URL(req.url).pathname}`);
  }, async (port) => {
    const cases: [string, number][] = [
      // The audit's URL rewrite through Host, two Hosts, and no Host.
      ["GET /obj/N HTTP/1.1\r\nHost: h/obj/EVIL#\r\n\r\n", 400],
      ["GET /obj/N HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400],
      ["GET /obj/N HTTP/1.1\r\n\r\n", 400],
      // Methods are case-sensitive (RFC 9110 §9.1): `get` is not GET.
      ["get /obj/N HTTP/1.1\r\nHost: a\r\n\r\n", 501],
      ["TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 501],
      [`GET /${"a".repeat(9 * 1024)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414],
    ];
    for (const [wire, status] of cases) {
      const r = await exchange(port, wire);
      assert.ok(
        r.text.startsWith(`HTTP/1.1 ${status} `),
        `${wire.slice(0, 40)}: ${r.text.slice(0, 80)}`,
      );
      assert.equal(r.closed, true);
    }
    assert.equal(fast, 0);
    assert.equal(handled, 0);
    // HTTP/1.2 is read as 1.1 (RFC 9112 §2.3): answered, as HTTP/1.1, by the handler.
    const r = await exchange(
      port,
      "POST /v HTTP/1.2\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
      { untilText: "POST /v" },
    );
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(r.text.endsWith("POST /v"), r.text);
    // HTTP/1.0 may omit Host; the fast path sees it.
    const h = await exchange(port, "GET /p HTTP/1.0\r\n\r\n");
    assert.ok(h.text.endsWith("hit"), h.text);
    assert.equal(fast, 2); // POST /v, then GET /p
  }, {
    onError: () => {},
    fastPath: (head) => {
      fast++;
      return head.target === "/p" ? [hit] : undefined;
    },
  });
});

Deno.test("serveHttp1() shutdown closes idle keep-alive connections and waits for a running response", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const server = serveHttp1({ hostname: "127.0.0.1", port: 0 }, async (req) => {
    if (new URL(req.url).pathname === "/slow") await gate;
    return new Response("done");
  });
  const port = server.addr.port;
  const idle = await Deno.connect({ hostname: "127.0.0.1", port });
  await idle.write(enc("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const buf = new Uint8Array(4096);
  await idle.read(buf);
  const slow = exchange(port, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.connections, 2);
  const down = server.shutdown(5000);
  // The idle connection is closed at once.
  assert.equal(await idle.read(buf).catch(() => null), null);
  idle.close();
  release();
  const r = await slow;
  assert.ok(r.text.endsWith("done"), r.text);
  assert.match(r.text, /connection: close/);
  assert.equal(r.closed, true);
  await down;
  assert.equal(server.connections, 0);
});

Deno.test("serveHttp1() aborts request.signal when the client hangs up while the handler waits", async () => {
  let aborted: () => void = () => {};
  const abortedP = new Promise<void>((r) => aborted = r);
  await withServer(
    (req) =>
      new Promise<Response>((resolve) => {
        req.signal.addEventListener("abort", () => {
          aborted();
          resolve(new Response("late"));
        });
      }),
    async (port) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(enc("GET /held HTTP/1.1\r\nHost: x\r\n\r\n"));
      await new Promise((r) => setTimeout(r, 50)); // the handler is waiting
      conn.close();
      const timer = setTimeout(() => aborted(), 2000);
      const t0 = Date.now();
      await abortedP;
      clearTimeout(timer);
      assert.ok(Date.now() - t0 < 1000, "aborted on the hang-up, not later");
    },
  );
});

Deno.test("serveHttp1() keeps a request pipelined while the previous handler waits, and never aborts a request whose client stays", async () => {
  const signals: AbortSignal[] = [];
  await withServer(async (req) => {
    signals.push(req.signal);
    await new Promise((r) => setTimeout(r, 100));
    return new Response(new URL(req.url).pathname);
  }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(enc("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
      await new Promise((r) => setTimeout(r, 30)); // read by the watch, not the head loop
      await conn.write(
        enc("GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      );
      const buf = new Uint8Array(4096);
      let text = "";
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += dec(buf.subarray(0, n));
      }
      assert.equal(text.match(/HTTP\/1\.1 200/g)?.length, 2, text);
      assert.ok(text.indexOf("\r\n\r\n/a") < text.indexOf("\r\n\r\n/b"), text);
    } finally {
      conn.close();
    }
  });
  assert.equal(signals.length, 2);
  assert.ok(signals.every((s) => !s.aborted));
});
