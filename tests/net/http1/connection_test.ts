/**
 * One connection's read loop over real sockets: pipelined requests in order, the fast path
 * (at once, later, falling back, broken), refusals of bad heads and of what RFC 9112 and
 * RFC 9110 refuse, and the watch read that sees a peer hang up while its handler waits.
 */
import assert from "node:assert/strict";
import type { Http1Exchange } from "../../../net/http1/mod.ts";
import { waitFor } from "../../_helpers/peers.ts";
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

Deno.test("serveHttp1() observe: one exchange per answered request (fast path and handler), with status, bytes and first/last byte times", async () => {
  const seen: Http1Exchange[] = [];
  const fastAnswer = enc("HTTP/1.1 203 OK\r\ncontent-length: 4\r\n\r\nfast");
  await withServer(
    (req) =>
      new URL(req.url).pathname === "/slow"
        ? new Promise((r) =>
          setTimeout(() => r(new Response("late body", { status: 404 })), 30)
        )
        : new Response("handler body", {
          headers: { "cache-status": "Meridian; fwd=miss" },
        }),
    async (port) => {
      const r = await exchange(
        port,
        "GET /hot HTTP/1.1\r\nHost: x\r\n\r\nGET /cold?token=T HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      assert.equal(r.closed, true);
      const total = enc(r.text).byteLength;
      await waitFor("three exchanges", () => seen.length === 3);
      assert.deepEqual(
        seen.map((
          x,
        ) => [x.head.target, x.status, x.fast, x.label, x.completed]),
        [
          ["/hot", 203, true, "hot", true],
          ["/cold?token=T", 200, false, undefined, true],
          ["/slow", 404, false, undefined, true],
        ],
      );
      assert.equal(seen[0]!.bytes, fastAnswer.byteLength);
      assert.equal(
        seen.reduce((a, x) => a + x.bytes, 0),
        total,
        "every byte written is some exchange's",
      );
      assert.equal(
        seen[1]!.response?.headers.get("cache-status"),
        "Meridian; fwd=miss",
      );
      for (const x of seen) {
        assert.ok(x.startMs <= x.firstByteMs && x.firstByteMs <= x.endMs);
        assert.ok(Math.abs(x.startEpochMs - Date.now()) < 10_000);
        assert.equal(x.remoteAddr.hostname, "127.0.0.1");
      }
      // The held handler: its first byte came about 30 ms after its head.
      assert.ok(seen[2]!.firstByteMs - seen[2]!.startMs >= 25);
    },
    {
      fastPath: (head, x) => {
        if (head.target !== "/hot") return undefined;
        x.label = "hot";
        return [fastAnswer];
      },
      observe: (x) => seen.push(x),
    },
  );
});

Deno.test("serveHttp1() observe: a response cut by a broken body is observed as not completed", async () => {
  const seen: Http1Exchange[] = [];
  async function* broken() {
    yield enc("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf");
    throw new Error("the body broke");
  }
  await withServer(() =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(enc("part"));
          c.error(new Error("upstream went away"));
        },
      }),
    ), async (port) => {
    await exchange(port, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    await exchange(port, "GET /handler HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor("two exchanges", () => seen.length === 2);
    assert.deepEqual(seen.map((x) => [x.head.target, x.status, x.completed]), [
      ["/fast", 200, false],
      ["/handler", 200, false],
    ]);
  }, {
    fastPath: (head) => head.target === "/fast" ? broken() : undefined,
    observe: (x) => seen.push(x),
  });
});

Deno.test("serveHttp1() timeEvery: one observed exchange in N has its times read, every one is observed", async () => {
  const seen: { timed: boolean; start: number; end: number; status: number }[] =
    [];
  await withServer(() => new Response("ok"), async (port) => {
    await exchange(
      port,
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(6) +
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    await waitFor("seven exchanges", () => seen.length === 7);
  }, {
    timeEvery: 3,
    observe: (x) =>
      seen.push({
        timed: x.timed,
        start: x.startMs,
        end: x.endMs,
        status: x.status,
      }),
  });
  assert.deepEqual(seen.map((s) => s.timed), [
    true,
    false,
    false,
    true,
    false,
    false,
    true,
  ]);
  assert.ok(seen.every((s) => s.status === 200));
  assert.ok(
    seen.every((s) => s.timed ? s.end >= s.start && s.start > 0 : s.end === 0),
  );
});
