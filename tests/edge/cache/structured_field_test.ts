import assert from "node:assert/strict";
import {
  MAX_FIELD_CHARS,
  parseDictionary,
} from "../../../edge/cache/structured_field.ts";
import { EdgeError } from "../../../edge/errors.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

const int = (value: number) => ({ type: "integer", value });
const t = { type: "boolean", value: true };
const none = new Map();

Deno.test("parseDictionary() reads every member type of RFC 8941 §3.2 (the RFC's own examples)", () => {
  assert.deepEqual(
    [...parseDictionary('en="Applepie", da=:w4ZibGV0w6ZydGU=:')],
    [
      ["en", {
        kind: "item",
        value: { type: "string", value: "Applepie" },
        params: none,
      }],
      ["da", {
        kind: "item",
        value: { type: "bytes", value: "w4ZibGV0w6ZydGU=" },
        params: none,
      }],
    ],
  );
  assert.deepEqual([...parseDictionary("a=?0, b, c; foo=bar")], [
    ["a", {
      kind: "item",
      value: { type: "boolean", value: false },
      params: none,
    }],
    ["b", { kind: "item", value: t, params: none }],
    ["c", {
      kind: "item",
      value: t,
      params: new Map([["foo", { type: "token", value: "bar" }]]),
    }],
  ]);
  assert.deepEqual([...parseDictionary("rating=1.5, feelings=(joy sadness)")], [
    ["rating", {
      kind: "item",
      value: { type: "decimal", value: 1.5 },
      params: none,
    }],
    ["feelings", {
      kind: "list",
      items: [
        { value: { type: "token", value: "joy" }, params: none },
        { value: { type: "token", value: "sadness" }, params: none },
      ],
      params: none,
    }],
  ]);
  assert.deepEqual(
    parseDictionary("max-age=1, max-age=2").get("max-age"),
    { kind: "item", value: int(2), params: none },
    "a repeated key keeps its last value",
  );
  assert.deepEqual(
    parseDictionary(' max-age=-3,\tx="a\\"b" ').get("x"),
    { kind: "item", value: { type: "string", value: 'a"b' }, params: none },
  );
  assert.equal(parseDictionary("").size, 0);
});

Deno.test("parseDictionary() fails the whole field on any deviation (RFC 8941 §4.2)", () => {
  for (
    const v of [
      "max-age =100",
      "max-age= 100",
      "MaX-aGe=3600",
      "max-age=100,",
      "max-age=100, &&&&&",
      "a=1 b=2",
      "a=1234567890123456",
      "a=1.2345",
      "a=1234567890123.5",
      'a="unterminated',
      'a="bad\\escape"',
      "a=?2",
      "a=:not base64!:",
      "a=(1 2",
      "a=(1,2)",
      "a=@",
      "x".repeat(MAX_FIELD_CHARS + 1),
    ]
  ) {
    assert.throws(
      () => parseDictionary(v),
      (e) => e instanceof EdgeError && e.code === "EDGE_BAD_STRUCTURED_FIELD",
      JSON.stringify(v.slice(0, 40)),
    );
  }
});

Deno.test("parseDictionary() fuzz: mutated fields either parse or throw EdgeError, nothing else", () => {
  const next = createPrng(8941);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const seeds = [
    "max-age=3600, s-maxage=60, private",
    'no-cache=("set-cookie" "x"), a=:AQID:;p=1.5',
    "stale-while-revalidate=5, foo=?1, bar=tok/en",
  ].map((s) => enc.encode(s));
  let parsed = 0;
  for (let i = 0; i < 5_000; i++) {
    const input = dec.decode(mutate(next, seeds[i % seeds.length]!));
    try {
      const d = parseDictionary(input);
      for (const [k] of d) assert.match(k, /^[a-z*][a-z0-9_\-.*]*$/);
      parsed++;
    } catch (e) {
      assert.ok(e instanceof EdgeError, `${String(e)} for ${input}`);
    }
  }
  assert.ok(parsed > 100, `some mutations still parse (${parsed})`);
});
