import assert from "node:assert/strict";
import {
  joinQuery,
  RtmpErrorCode,
  RtmpProtocolError,
  splitConnectQuery,
  splitQuery,
} from "../../../codec/rtmp/mod.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

/** Canonical names, both directions: splitQuery(wire) == value and joinQuery(value) == wire. */
const CASES: {
  wire: string;
  name: string;
  params: Record<string, string>;
}[] = [
  { wire: "demo", name: "demo", params: {} },
  { wire: "demo?token=abc", name: "demo", params: { token: "abc" } },
  {
    wire: "demo?token=a%2Bb&x=1",
    name: "demo",
    params: { token: "a+b", x: "1" },
  },
  { wire: "cam?k=a+b%26c%3D", name: "cam", params: { k: "a b&c=" } },
  { wire: "live/sub?x=%E4%BD%A0", name: "live/sub", params: { x: "你" } },
  {
    wire: "mp4:film.mp4?start=0",
    name: "mp4:film.mp4",
    params: { start: "0" },
  },
  { wire: "?k=v", name: "", params: { k: "v" } },
  { wire: "a?=v", name: "a", params: { "": "v" } },
  { wire: "a?k=", name: "a", params: { k: "" } },
  { wire: "", name: "", params: {} },
];

Deno.test("splitQuery() and joinQuery() round-trip canonical names both ways", () => {
  for (const c of CASES) {
    assert.deepEqual(
      splitQuery(c.wire),
      { name: c.name, params: c.params },
      c.wire,
    );
    assert.equal(joinQuery(c.name, c.params), c.wire, c.wire);
  }
});

Deno.test("splitQuery() reads non-canonical queries: last key wins, bare keys, a second '?', bad escapes", () => {
  const cases: [string, string, Record<string, string>, string][] = [
    // wire, name, params, the canonical form joinQuery writes back
    ["a?", "a", {}, "a"],
    ["a?k=1&k=2", "a", { k: "2" }, "a?k=2"],
    ["a?k", "a", { k: "" }, "a?k="],
    ["a?x=1?y=2", "a", { x: "1?y=2" }, "a?x=1%3Fy%3D2"],
    ["a?%zz=1", "a", { "%zz": "1" }, "a?%25zz=1"],
    ["a?&&k=v&", "a", { k: "v" }, "a?k=v"],
  ];
  for (const [wire, name, params, canonical] of cases) {
    assert.deepEqual(splitQuery(wire), { name, params }, wire);
    assert.equal(joinQuery(name, params), canonical, wire);
  }
});

Deno.test("joinQuery() refuses a name with '?' with RTMP_NOT_ENCODABLE", () => {
  assert.throws(
    () => joinQuery("a?b", { k: "v" }),
    (e: unknown) =>
      e instanceof RtmpProtocolError &&
      e.code === RtmpErrorCode.NotEncodable &&
      /^Cannot encode RTMP name: it contains '\?', got 'a\?b'$/.test(e.message),
  );
});

Deno.test("splitConnectQuery() takes the app without trailing slashes, and the app's parameters over the tcUrl's", () => {
  assert.deepEqual(splitConnectQuery("live", "rtmp://h/live"), {
    app: "live",
    params: {},
  });
  assert.deepEqual(splitConnectQuery("live//", ""), {
    app: "live",
    params: {},
  });
  assert.deepEqual(
    splitConnectQuery("live/?key=app", "rtmp://h:1935/live?key=url&u=1"),
    { app: "live", params: { key: "app", u: "1" } },
  );
  assert.deepEqual(splitConnectQuery("vod/a", "rtmp://h/vod/a?t=x"), {
    app: "vod/a",
    params: { t: "x" },
  });
});

/** Characters that matter to the query syntax, plus ordinary, non-ASCII and lone surrogates. */
const ALPHABET = [
  ..."?&=%+#/:. aZ09_-",
  "%2",
  "%E4%BD",
  "é",
  "你",
  "\ud83d\ude00",
  "\ud800",
  "\udfff",
  "\u0000",
];

Deno.test("splitQuery() fuzz: random and mutated names split, re-join and re-split to the same value", () => {
  const next = createPrng(0x5eed_0517);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const inputs: string[] = [];
  for (let i = 0; i < 1500; i++) {
    let s = "";
    const n = next() % 40;
    for (let j = 0; j < n; j++) s += ALPHABET[next() % ALPHABET.length];
    inputs.push(s);
  }
  for (let i = 0; i < 1500; i++) {
    const seed = enc.encode(CASES[next() % CASES.length]!.wire);
    inputs.push(dec.decode(mutate(next, seed)));
  }
  for (const [i, input] of inputs.entries()) {
    const split = splitQuery(input);
    assert.ok(
      !split.name.includes("?"),
      `input ${i}: ${JSON.stringify(input)}`,
    );
    assert.ok(input.startsWith(split.name), `input ${i}`);
    if (!input.includes("?")) assert.deepEqual(split.params, {});
    const joined = joinQuery(split.name, split.params);
    assert.deepEqual(splitQuery(joined), split, `input ${i}: ${joined}`);
    // joinQuery's output is canonical: it joins back to itself.
    assert.equal(joinQuery(split.name, splitQuery(joined).params), joined);
    const connect = splitConnectQuery(input, input);
    assert.ok(!connect.app.endsWith("/"), `input ${i}`);
  }
});
