import assert from "node:assert/strict";
import {
  decodeRequestHead,
  fieldOf,
  Http1ErrorCode,
  Http1FormatError,
} from "../../../codec/http1/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("decodeRequestHead() reads method, target, version, fields and the head length", () => {
  const wire =
    "GET /live/stream.m3u8?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" +
    "User-Agent: wrk \r\nAccept:*/*\r\n\r\nGET /next";
  const head = decodeRequestHead(enc(wire))!;
  assert.equal(head.method, "GET");
  assert.equal(head.target, "/live/stream.m3u8?x=1");
  assert.equal(head.minorVersion, 1);
  assert.deepEqual(head.fields, [
    "host",
    "127.0.0.1:8080",
    "user-agent",
    "wrk",
    "accept",
    "*/*",
  ]);
  assert.equal(head.headBytes, wire.length - "GET /next".length);
  assert.equal(head.body, 0);
  assert.equal(head.keepAlive, true);
  assert.equal(head.expectContinue, false);
  assert.equal(fieldOf(head, "accept"), "*/*");
});

Deno.test("decodeRequestHead() returns undefined until the blank line arrives", () => {
  const wire = enc("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  for (let n = 0; n < wire.length; n++) {
    assert.equal(decodeRequestHead(wire.subarray(0, n)), undefined, `at ${n}`);
  }
  assert.ok(decodeRequestHead(wire));
});

Deno.test("decodeRequestHead() applies RFC 9112 persistence rules", () => {
  const ka = (s: string) => decodeRequestHead(enc(s))!.keepAlive;
  assert.equal(ka("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), true);
  assert.equal(
    ka("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n"),
    false,
  );
  assert.equal(
    ka("GET / HTTP/1.1\r\nHost: a\r\nConnection: te, close\r\n\r\n"),
    false,
  );
  assert.equal(ka("GET / HTTP/1.0\r\n\r\n"), false);
  assert.equal(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), true);
});

Deno.test("decodeRequestHead() reads body framing: Content-Length, chunked, Expect", () => {
  const h1 = decodeRequestHead(
    enc(
      "POST /admin/purge HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n",
    ),
  )!;
  assert.equal(h1.body, 12);
  assert.equal(h1.expectContinue, true);
  const h2 = decodeRequestHead(
    enc("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
  )!;
  assert.equal(h2.body, "chunked");
  const h3 = decodeRequestHead(
    enc("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"),
  )!;
  assert.equal(h3.body, 5);
  // Leading empty lines are ignored (RFC 9112 §2.2).
  assert.equal(
    decodeRequestHead(enc("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"))!
      .target,
    "/",
  );
});

function refused(wire: string, code: string, status: number) {
  assert.throws(
    () => decodeRequestHead(enc(wire), { maxHeadBytes: 1024, maxFields: 4 }),
    (e: unknown) => {
      assert.ok(e instanceof Http1FormatError, String(e));
      assert.equal(e.code, code, `${JSON.stringify(wire)}: ${e.message}`);
      assert.equal(e.status, status);
      assert.match(e.message, /^Cannot read request head: /);
      return true;
    },
  );
}

Deno.test("decodeRequestHead() refuses smuggling shapes and bad syntax with the right status", () => {
  const B = Http1ErrorCode;
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    B.BadFraming,
    400,
  );
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    B.BadFraming,
    400,
  );
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n",
    B.BadFraming,
    400,
  );
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    B.BadFraming,
    400,
  );
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
    B.BadFraming,
    400,
  );
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    B.BadFraming,
    400,
  );
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    B.UnsupportedCoding,
    501,
  );
  refused(
    "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    B.BadFraming,
    400,
  );
  refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n", B.BadSyntax, 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", B.BadSyntax, 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", B.BadSyntax, 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", B.BadSyntax, 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\u0000b\r\n\r\n", B.BadSyntax, 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", B.BadSyntax, 400);
  refused("G(T / HTTP/1.1\r\n\r\n", B.BadSyntax, 400);
  refused("GET  / HTTP/1.1\r\n\r\n", B.BadSyntax, 400);
  refused("GET live HTTP/1.1\r\n\r\n", B.BadSyntax, 400);
  refused("GET / HTTX/1.1\r\n\r\n", B.BadSyntax, 400);
  refused("GET / HTTP/2.0\r\n\r\n", B.BadVersion, 505);
  refused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", B.BadVersion, 505);
  refused(
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: magic\r\n\r\n",
    B.BadExpectation,
    417,
  );
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
    B.HeadTooLarge,
    431,
  );
  refused(
    `GET / HTTP/1.1\r\nHost: a\r\nX: ${"a".repeat(2000)}\r\n\r\n`,
    B.HeadTooLarge,
    431,
  );
  // Over the limit without the blank line: refused before it ever arrives.
  refused(
    `GET / HTTP/1.1\r\nHost: a\r\nX: ${"a".repeat(2000)}`,
    B.HeadTooLarge,
    431,
  );
  // A target that cannot fit in the head is too long (414), not a head too large.
  refused(`GET /${"a".repeat(2000)} HTTP/1.1\r\n\r\n`, B.TargetTooLong, 414);
  refused(`GET /${"a".repeat(2000)}`, B.TargetTooLong, 414);
});

Deno.test("decodeRequestHead() answers a target over maxTargetBytes (8 KiB) with 414, even before it ends", () => {
  const target = `/${"a".repeat(9 * 1024)}`;
  for (
    const wire of [`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`, `GET ${target}`]
  ) {
    assert.throws(() => decodeRequestHead(enc(wire)), (e: unknown) => {
      assert.ok(e instanceof Http1FormatError);
      assert.equal(e.status, 414);
      assert.equal(e.code, Http1ErrorCode.TargetTooLong);
      return true;
    });
  }
  // 8 KiB exactly is served.
  const ok = `/${"a".repeat(8 * 1024 - 1)}`;
  assert.equal(
    decodeRequestHead(enc(`GET ${ok} HTTP/1.1\r\nHost: a\r\n\r\n`))!.target,
    ok,
  );
});

Deno.test("decodeRequestHead() reads HTTP/1.2-1.9 as HTTP/1.1 (RFC 9112 §2.3) and refuses other majors", () => {
  for (const v of ["1.2", "1.9"]) {
    const head = decodeRequestHead(
      enc(`GET / HTTP/${v}\r\nHost: a\r\n\r\n`),
    )!;
    assert.equal(head.minorVersion, 1);
    assert.equal(head.keepAlive, true);
  }
  refused("GET / HTTP/0.9\r\nHost: a\r\n\r\n", Http1ErrorCode.BadVersion, 505);
  refused("GET / HTTP/3.0\r\nHost: a\r\n\r\n", Http1ErrorCode.BadVersion, 505);
  refused("GET / HTTP/1.10\r\nHost: a\r\n\r\n", Http1ErrorCode.BadSyntax, 400);
});

Deno.test("decodeRequestHead() requires one Host that is an authority (RFC 9112 §3.2, RFC 3986 §3.2.2)", () => {
  const B = Http1ErrorCode;
  // The audit's case: a Host that would move the path of a URL built from it.
  refused("GET /obj/N HTTP/1.1\r\nHost: h/obj/EVIL#\r\n\r\n", B.BadHost, 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", B.BadHost, 400);
  refused("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", B.BadHost, 400);
  refused("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", B.BadHost, 400);
  for (
    const bad of [
      "a b",
      "a?b",
      "a#",
      "u@h",
      "a\\b",
      "h:80:80",
      "h:x",
      "h:65536",
      ":80",
      "[::1",
      "[1:2:3]",
      "[1:2:3:4:5:6:7:8:9]",
      "[::1::2]",
      "[v1.x]",
      "[fe80::1%25eth0]",
      "a%2Fb",
      "caf\u00e9",
      "[::1]x",
    ]
  ) {
    refused(`GET / HTTP/1.1\r\nHost: ${bad}\r\n\r\n`, B.BadHost, 400);
  }
  for (
    const good of [
      "",
      "a",
      "edge.example:8080",
      "127.0.0.1",
      "h:",
      "[::1]",
      "[::1]:8090",
      "[2001:db8::7]",
      "[::ffff:192.0.2.1]:80",
      "[1:2:3:4:5:6:7:8]",
      "xn--bcher-kva.example",
      "0x7f.example",
      "255.255.255.255:65535",
      "a.1b",
      "a-b_c~d!$&'()*+,;=",
    ]
  ) {
    const head = decodeRequestHead(
      enc(`GET / HTTP/1.1\r\nHost: ${good}\r\n\r\n`),
    )!;
    assert.equal(head.host, good);
    // What a server builds from it keeps the target as the path.
    assert.equal(new URL(`http://${good || "x"}/p?q`).pathname, "/p");
  }
  for (
    const bad of [
      "527.0.0.1",
      "a.1",
      "a.0x7f",
      "a.0X",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1.2.3.4.",
      "1.2.3.4.5",
    ]
  ) {
    refused(`GET / HTTP/1.1\r\nHost: ${bad}\r\n\r\n`, B.BadHost, 400);
  }
  // HTTP/1.0 may leave it out.
  assert.equal(
    decodeRequestHead(enc("GET / HTTP/1.0\r\n\r\n"))!.host,
    undefined,
  );
});

Deno.test("decodeRequestHead() fuzz: every Host it accepts builds a URL with the target as its path", () => {
  // Hosts drawn from the characters that matter to an authority and to the WHATWG URL parser.
  const next = createPrng(0x4057);
  const alphabet = "0123456789abfxX.-_~:[]%/#?@!$&'()*+,;= \\";
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let host = "";
    const n = next() % 16;
    for (let k = 0; k < n; k++) host += alphabet[next() % alphabet.length];
    if (i % 4 === 0) host = `[${host}]`;
    if (i % 5 === 0) host = `${host}:${next() % 70_000}`;
    let head;
    try {
      head = decodeRequestHead(
        enc(`GET /t HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
      );
    } catch (e) {
      assert.ok(e instanceof Http1FormatError, `${host}: ${e}`);
      continue;
    }
    accepted++;
    assert.equal(head!.host, host.trim());
    if (head!.host === "") continue;
    assert.equal(new URL(`http://${head!.host}/t`).pathname, "/t", host);
  }
  assert.ok(accepted > 1000, `only ${accepted} hosts accepted`);
});

Deno.test("decodeRequestHead() fuzz: random and mutated heads either decode consistently or throw Http1FormatError", () => {
  const next = createPrng(0x4a7e);
  const seeds = [
    enc(
      "GET /live/stream.m3u8 HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-9\r\n\r\n",
    ),
    enc(
      "POST /admin/purge HTTP/1.1\r\nHost: [::1]:8088\r\nContent-Length: 17\r\nConnection: close\r\n\r\n",
    ),
    enc(
      "POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    ),
  ];
  let decoded = 0;
  for (let i = 0; i < 5000; i++) {
    const input = i % 5 === 0
      ? randomBytes(next, next() % 200)
      : mutate(next, seeds[i % seeds.length]!);
    try {
      const head = decodeRequestHead(input, { maxHeadBytes: 256 });
      if (!head) continue;
      decoded++;
      assert.ok(head.headBytes <= input.length && head.headBytes > 0);
      assert.equal(head.fields.length % 2, 0);
      for (let f = 0; f < head.fields.length; f += 2) {
        assert.equal(head.fields[f], head.fields[f]!.toLowerCase());
        const v = head.fields[f + 1]!;
        assert.ok(
          !v.includes("\r") && !v.includes("\n") && !v.includes("\u0000"),
        );
      }
      assert.ok(head.body === "chunked" || Number.isInteger(head.body));
      // Any Host accepted builds a URL whose path is the target's (what the server relies on).
      if (head.host) {
        const u = new URL(`http://${head.host}/t`);
        assert.equal(u.pathname, "/t", head.host);
      }
      // A head that decodes builds a valid Headers object (what the server hands on).
      new Headers(
        Array.from({ length: head.fields.length / 2 }, (_, k) => [
          head.fields[2 * k]!,
          head.fields[2 * k + 1]!,
        ]),
      );
    } catch (e) {
      assert.ok(e instanceof Http1FormatError, `input ${i}: ${e}`);
    }
  }
  assert.ok(decoded > 100, `only ${decoded} mutated heads decoded`);
});
