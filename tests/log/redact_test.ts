import assert from "node:assert/strict";
import {
  isSecretField,
  isSecretParam,
  REDACTED,
  redactFields,
  redactQuery,
} from "../../log/redact.ts";
import { createPrng } from "../_helpers/prng.ts";

Deno.test("redactQuery() hides secret parameters anywhere in a URL or stream name, keeps the rest", () => {
  const cases: [string, string][] = [
    ["/live/a.m3u8?token=T1", "/live/a.m3u8?token=<redacted>"],
    ["/live/a/1.ts?x=1&cred=C&y=2", "/live/a/1.ts?x=1&cred=<redacted>&y=2"],
    ["live/cam1?key=s3cret", "live/cam1?key=<redacted>"],
    [
      "rtmp://h/live?publishKey=K&app=x",
      "rtmp://h/live?publishKey=<redacted>&app=x",
    ],
    [
      "/x?access_token=A&Auth=B&sig=C",
      `/x?access_token=${REDACTED}&Auth=${REDACTED}&sig=${REDACTED}`,
    ],
    ["/x?%74oken=T", "/x?%74oken=<redacted>"],
    ["/x?to%6Ben=T", "/x?to%6Ben=<redacted>"],
    ["/x?start=5&end=9", "/x?start=5&end=9"],
    [
      "redis://app:pa55@10.0.0.1:6379/0",
      "redis://app:<redacted>@10.0.0.1:6379/0",
    ],
    [
      "http://u:p@h/p?password=q",
      "http://u:<redacted>@h/p?password=<redacted>",
    ],
    ["no query here", "no query here"],
  ];
  for (const [input, want] of cases) {
    assert.equal(redactQuery(input), want, input);
  }
});

Deno.test("isSecretField() and isSecretParam(): fields by credential names, parameters wider", () => {
  for (
    const f of [
      "token",
      "adminToken",
      "authorization",
      "Cookie",
      "publishKeys",
      "password",
    ]
  ) {
    assert.ok(isSecretField(f), f);
  }
  for (const f of ["signal", "stream", "status", "peer"]) {
    assert.ok(!isSecretField(f), f);
  }
  for (
    const p of ["token", "cred", "sig", "auth_key", "X-Amz-Signature", "passwd"]
  ) {
    assert.ok(isSecretParam(p), p);
  }
  for (const p of ["start", "end", "accurate", "format"]) {
    assert.ok(!isSecretParam(p), p);
  }
});

Deno.test("redactFields() replaces secret-named fields and redacts strings and errors", () => {
  const out = redactFields({
    token: "abc",
    url: "/a?token=abc",
    error: new Error("Cannot fetch /b?cred=zz"),
    ok: true,
    n: 3,
  }, (e) => e.message);
  assert.deepEqual(out, {
    token: REDACTED,
    url: "/a?token=<redacted>",
    error: "Cannot fetch /b?cred=<redacted>",
    ok: true,
    n: 3,
  });
});

Deno.test("redactQuery(): a secret placed anywhere in a random URL never survives (seeded fuzz)", () => {
  const next = createPrng(2121);
  const names = [
    "token",
    "cred",
    "key",
    "access_token",
    "apiKey",
    "sig",
    "secret",
    "%74oken",
  ];
  const plain = ["a", "start", "end", "x_y", "v"];
  const chars = "abcXYZ019-._~%/:";
  const word = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) s += chars[next() % chars.length];
    return s;
  };
  for (let i = 0; i < 2000; i++) {
    const secret = `S${next().toString(36)}Q`;
    const params: string[] = [];
    const count = 1 + (next() % 5);
    const at = next() % count;
    for (let j = 0; j < count; j++) {
      params.push(
        j === at
          ? `${names[next() % names.length]}=${secret}`
          : `${plain[next() % plain.length]}=${word(next() % 6)}`,
      );
    }
    const url = `/${word(4)}/${word(3)}.m3u8?${params.join("&")}`;
    const out = redactQuery(url);
    assert.ok(!out.includes(secret), `${url} -> ${out}`);
    assert.equal(out.split("&").length, params.length, url);
  }
});
