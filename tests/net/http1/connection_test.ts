/**
 * One connection's read loop over real sockets: pipelined requests in order, the fast path
 * (at once, later, falling back, broken), refusals of bad heads and of what RFC 9112 and
 * RFC 9110 refuse, and the watch read that sees a peer hang up while its handler waits.
 */
import assert from "node:assert/strict";
import { dec, enc, exchange, withServer } from "./_exchange.ts";

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
