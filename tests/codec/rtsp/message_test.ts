import assert from "node:assert/strict";
import {
  answerChallenge,
  checkDigest,
  encodeInterleaved,
  encodeRtspRequest,
  encodeRtspResponse,
  MAX_HEAD_BYTES,
  parseChallenge,
  parseCredentials,
  parseSession,
  parseTransport,
  RtspFormatError,
  RtspReader,
} from "../../../codec/rtsp/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

const enc = new TextEncoder();

/** An ANNOUNCE shaped like the one ffmpeg 5.1 sends when it publishes (`-f rtsp`). */
const FFMPEG_ANNOUNCE = enc.encode(
  "ANNOUNCE rtsp://127.0.0.1:8554/live/r1 RTSP/1.0\r\n" +
    "Content-Type: application/sdp\r\nCSeq: 2\r\nUser-Agent: Lavf59.27.100\r\nContent-Length: 10\r\n\r\n" +
    "v=0\r\ns=x\r\n\r\n",
);

Deno.test("RtspReader.push() reads a request with a body and the interleaved frames after it, split anywhere", () => {
  const frame = encodeInterleaved(1, new Uint8Array([0x80, 0xc8, 0, 1]));
  const all = new Uint8Array([...FFMPEG_ANNOUNCE, ...frame]);
  for (let cut = 0; cut <= all.byteLength; cut++) {
    const r = new RtspReader();
    const items = [
      ...r.push(all.subarray(0, cut)),
      ...r.push(all.subarray(cut)),
    ];
    assert.equal(items.length, 2, `cut ${cut}`);
    const [req, f] = items;
    assert.ok(req?.kind === "request");
    assert.equal(req.message.method, "ANNOUNCE");
    assert.equal(new TextDecoder().decode(req.message.body), "v=0\r\ns=x\r\n");
    assert.deepEqual(f, {
      kind: "interleaved",
      channel: 1,
      data: new Uint8Array([0x80, 0xc8, 0, 1]),
    });
  }
});

Deno.test("encodeRtspRequest() and encodeRtspResponse() round-trip through the reader", () => {
  const req = {
    method: "SETUP",
    uri: "rtsp://h/live/a/trackID=0",
    version: "RTSP/1.0",
    headers: [["CSeq", "3"], [
      "Transport",
      "RTP/AVP/TCP;unicast;interleaved=0-1",
    ]] as [string, string][],
    body: new Uint8Array(0),
  };
  const res = {
    version: "RTSP/1.0",
    status: 200,
    reason: "OK",
    headers: [["CSeq", "3"], ["Content-Length", "2"]] as [string, string][],
    body: enc.encode("ok"),
  };
  const items = new RtspReader().push(
    new Uint8Array([...encodeRtspRequest(req), ...encodeRtspResponse(res)]),
  );
  assert.deepEqual(items, [{ kind: "request", message: req }, {
    kind: "response",
    message: res,
  }]);
});

Deno.test("RtspReader.push() refuses malformed and oversized input with RtspFormatError", () => {
  const cases: [Uint8Array, string][] = [
    [enc.encode("HELLO\r\n\r\n"), "RTSP_BAD_MESSAGE"],
    [enc.encode("GET / HTTP/1.1\r\n\r\n"), "RTSP_BAD_MESSAGE"],
    [
      enc.encode("OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n"),
      "RTSP_BAD_MESSAGE",
    ],
    [
      enc.encode("OPTIONS * RTSP/1.0\r\nContent-Length: 999999\r\n\r\n"),
      "RTSP_TOO_LARGE",
    ],
    [
      enc.encode(`OPTIONS * RTSP/1.0\r\nX: ${"a".repeat(MAX_HEAD_BYTES)}`),
      "RTSP_TOO_LARGE",
    ],
    [new Uint8Array([0x24, 0, 0xff, 0xff]), "RTSP_TOO_LARGE"],
  ];
  for (const [bytes, code] of cases) {
    assert.throws(
      () => new RtspReader().push(bytes),
      (e) => e instanceof RtspFormatError && e.code === code,
      new TextDecoder().decode(bytes.subarray(0, 30)),
    );
  }
});

Deno.test("RtspReader and header parsers throw RtspFormatError or parse on random and mutated input", () => {
  const next = createPrng(2326);
  const seeds = [
    FFMPEG_ANNOUNCE,
    enc.encode(
      'SETUP rtsp://h/a/b/streamid=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/UDP;unicast;client_port=5000-5001;mode=record\r\nSession: 12345678;timeout=60\r\nAuthorization: Digest username="u", realm="r", nonce="n", uri="x", response="abc"\r\n\r\n',
    ),
  ];
  for (let i = 0; i < 3000; i++) {
    const input = i % 7 === 0
      ? randomBytes(next, next() % 300)
      : mutate(next, seeds[i % 2]!);
    try {
      for (const item of new RtspReader().push(input)) {
        if (item.kind !== "request") continue;
        for (const [k, v] of item.message.headers) {
          try {
            if (k === "Transport") parseTransport(v);
            if (k === "Session") parseSession(v);
            if (k === "Authorization") parseCredentials(v);
          } catch (e) {
            assert.ok(e instanceof RtspFormatError, `case ${i} ${k}: ${e}`);
          }
        }
      }
    } catch (e) {
      assert.ok(e instanceof RtspFormatError, `case ${i}: ${e}`);
    }
  }
});

Deno.test("Digest: a response made by answerChallenge() passes checkDigest() with the right password only", () => {
  const challenge = parseChallenge(
    'Digest realm="Meridian", nonce="0123abcd", algorithm="MD5"',
  )!;
  assert.equal(challenge.scheme, "digest");
  for (const qop of [undefined, "auth"]) {
    const c = qop ? { ...challenge, qop } as const : challenge;
    const value = answerChallenge(c, {
      user: "cam",
      password: "k1",
      method: "ANNOUNCE",
      uri: "rtsp://h/live/a",
      cnonce: "c0ffee",
    });
    const creds = parseCredentials(value);
    assert.ok(creds.scheme === "digest");
    const expected = {
      realm: "Meridian",
      nonce: "0123abcd",
      method: "ANNOUNCE",
    };
    assert.equal(checkDigest(creds, expected, "k1"), true);
    assert.equal(checkDigest(creds, expected, "k2"), false);
    assert.equal(
      checkDigest(creds, { ...expected, nonce: "other" }, "k1"),
      false,
    );
    assert.equal(
      checkDigest(creds, { ...expected, method: "SETUP" }, "k1"),
      false,
    );
  }
  assert.deepEqual(
    parseCredentials(
      answerChallenge({ scheme: "basic", realm: "r" }, {
        user: "u",
        password: "p:w",
        method: "",
        uri: "",
        cnonce: "",
      }),
    ),
    { scheme: "basic", user: "u", password: "p:w" },
  );
});
