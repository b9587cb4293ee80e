import assert from "node:assert/strict";
import {
  Amf0Date,
  Amf0EcmaArray,
  Amf0FormatError,
  Amf0Reference,
  Amf0TypedObject,
  type Amf0Value,
  Amf0XmlDocument,
  decodeAll,
  encodeAmf0,
} from "../../../codec/amf0/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

const f64 = (v: number): number[] => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v);
  return [...b];
};
const str = (
  s: string,
): number[] => [0x00, s.length, ...new TextEncoder().encode(s)];

/** Literal fixtures, checked in both directions: decode(bytes) == value, encode(value) == bytes. */
const CASES: { name: string; bytes: number[]; value: Amf0Value }[] = [
  { name: "number", bytes: [0x00, ...f64(1.5)], value: 1.5 },
  { name: "boolean true", bytes: [0x01, 0x01], value: true },
  { name: "boolean false", bytes: [0x01, 0x00], value: false },
  { name: "string", bytes: [0x02, ...str("live")], value: "live" },
  { name: "utf-8 string", bytes: [0x02, 0x00, 0x02, 0xc3, 0xa9], value: "é" },
  { name: "null", bytes: [0x05], value: null },
  { name: "undefined", bytes: [0x06], value: undefined },
  { name: "reference", bytes: [0x07, 0x00, 0x02], value: new Amf0Reference(2) },
  {
    name: "object",
    bytes: [0x03, ...str("app"), 0x02, ...str("live"), 0x00, 0x00, 0x09],
    value: { app: "live" },
  },
  {
    name: "ecma array",
    bytes: [
      0x08,
      0,
      0,
      0,
      1,
      ...str("width"),
      0x00,
      ...f64(320),
      0x00,
      0x00,
      0x09,
    ],
    value: new Amf0EcmaArray({ width: 320 }),
  },
  {
    name: "strict array",
    bytes: [0x0a, 0, 0, 0, 2, 0x00, ...f64(1), 0x05],
    value: [1, null],
  },
  {
    name: "date",
    bytes: [0x0b, ...f64(1_700_000_000_000), 0x00, 0x00],
    value: new Amf0Date(1_700_000_000_000),
  },
  {
    name: "xml document",
    bytes: [0x0f, 0, 0, 0, 3, 0x3c, 0x61, 0x3e],
    value: new Amf0XmlDocument("<a>"),
  },
  {
    name: "typed object",
    bytes: [0x10, ...str("Pt"), ...str("x"), 0x00, ...f64(1), 0x00, 0x00, 0x09],
    value: new Amf0TypedObject("Pt", { x: 1 }),
  },
  {
    name: "nested object",
    bytes: [0x03, ...str("o"), 0x03, 0x00, 0x00, 0x09, 0x00, 0x00, 0x09],
    value: { o: {} },
  },
];

for (const c of CASES) {
  Deno.test(`decodeAll() decodes ${c.name}`, () => {
    assert.deepEqual(decodeAll(new Uint8Array(c.bytes)), [c.value]);
  });
  Deno.test(`encodeAmf0() encodes ${c.name}`, () => {
    assert.deepEqual(encodeAmf0(c.value), new Uint8Array(c.bytes));
  });
}

Deno.test("decodeAll() decodes a long string", () => {
  const bytes = new Uint8Array([0x0c, 0, 0, 0, 2, 0x68, 0x69]);
  assert.deepEqual(decodeAll(bytes), ["hi"]);
});

Deno.test("encodeAmf0() uses a long string above 65535 bytes", () => {
  const s = "x".repeat(70_000);
  const bytes = encodeAmf0(s);
  assert.equal(bytes[0], 0x0c);
  assert.deepEqual(decodeAll(bytes), [s]);
});

Deno.test("decodeAll() decodes an unsupported marker as undefined", () => {
  assert.deepEqual(decodeAll(new Uint8Array([0x0d])), [undefined]);
});

Deno.test("decodeAll() decodes AMF3 scalars behind the AVM+ switch", () => {
  // integer 5, string "ab", true, double 2.5
  const bytes = new Uint8Array([
    0x11,
    0x04,
    0x05,
    0x11,
    0x06,
    0x05,
    0x61,
    0x62,
    0x11,
    0x03,
    0x11,
    0x05,
    ...f64(2.5),
  ]);
  assert.deepEqual(decodeAll(bytes), [5, "ab", true, 2.5]);
});

Deno.test("decodeAll() decodes a 4-byte AMF3 U29 and negative integers", () => {
  // 0x1fffffff as U29 is -1 as a signed 29-bit integer.
  assert.deepEqual(
    decodeAll(new Uint8Array([0x11, 0x04, 0xff, 0xff, 0xff, 0xff])),
    [-1],
  );
});

Deno.test("decodeAll() accepts an ECMA array without its end marker at end of input", () => {
  const bytes = new Uint8Array([0x08, 0, 0, 0, 1, ...str("a"), 0x05]);
  assert.deepEqual(decodeAll(bytes), [new Amf0EcmaArray({ a: null })]);
});

Deno.test("decodeAll() keeps __proto__ as an own property", () => {
  const bytes = new Uint8Array([
    0x03,
    ...str("__proto__"),
    0x03,
    ...str("x"),
    0x05,
    0,
    0,
    9,
    0,
    0,
    9,
  ]);
  const [value] = decodeAll(bytes) as [Record<string, unknown>];
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

const ERRORS: { name: string; bytes: number[]; code: string }[] = [
  { name: "a truncated number", bytes: [0x00, 1, 2], code: "AMF0_TRUNCATED" },
  {
    name: "a string longer than its input",
    bytes: [0x02, 0xff, 0xff, 0x61],
    code: "AMF0_TRUNCATED",
  },
  {
    name: "a long string claiming 4 GiB",
    bytes: [0x0c, 0xff, 0xff, 0xff, 0xff, 0x61],
    code: "AMF0_TRUNCATED",
  },
  {
    name: "a strict array count beyond the input",
    bytes: [0x0a, 0xff, 0xff, 0xff, 0xff, 0x05],
    code: "AMF0_TOO_LONG",
  },
  { name: "an unknown marker", bytes: [0x42], code: "AMF0_UNKNOWN_MARKER" },
  { name: "a movie clip", bytes: [0x04], code: "AMF0_UNSUPPORTED" },
  {
    name: "a stray object end",
    bytes: [0x09],
    code: "AMF0_UNEXPECTED_OBJECT_END",
  },
  {
    name: "an object without its end",
    bytes: [0x03, ...str("a"), 0x05],
    code: "AMF0_TRUNCATED",
  },
  { name: "an AMF3 object", bytes: [0x11, 0x0a], code: "AMF0_UNSUPPORTED" },
  {
    name: "an AMF3 string reference",
    bytes: [0x11, 0x06, 0x00],
    code: "AMF0_UNSUPPORTED",
  },
];

for (const c of ERRORS) {
  Deno.test(`decodeAll() rejects ${c.name}`, () => {
    assert.throws(() => decodeAll(new Uint8Array(c.bytes)), (err: unknown) => {
      assert.ok(err instanceof Amf0FormatError);
      assert.equal(err.code, c.code);
      return true;
    });
  });
}

Deno.test("decodeAll() rejects nesting deeper than AMF0_MAX_DEPTH", () => {
  const depth = 40;
  const bytes = new Uint8Array([
    ...Array(depth).fill([0x0a, 0, 0, 0, 1]).flat(),
    0x05,
  ]);
  assert.throws(() => decodeAll(bytes), (err: unknown) => {
    assert.ok(err instanceof Amf0FormatError);
    assert.equal(err.code, "AMF0_TOO_DEEP");
    return true;
  });
});

Deno.test("decodeAll() fuzz: throws only Amf0FormatError, and what it returns re-encodes", () => {
  const next = createPrng(0xa3f0);
  const seeds = [
    encodeAmf0("connect", 1, {
      app: "live?token=x",
      tcUrl: "rtmp://127.0.0.1/live",
      fpad: false,
      audioCodecs: 3575,
    }),
    encodeAmf0(
      "onMetaData",
      new Amf0EcmaArray({ width: 320, height: 240, encoder: "Lavf" }),
    ),
    encodeAmf0(
      [1, "a", [null, undefined]],
      new Amf0Date(0),
      new Amf0TypedObject("T", { a: 1 }),
    ),
  ];
  for (let i = 0; i < 2000; i++) {
    const input = i % 5 === 0
      ? randomBytes(next, next() % 64)
      : mutate(next, seeds[next() % seeds.length]!);
    try {
      const values = decodeAll(input);
      encodeAmf0(...values);
    } catch (err) {
      if (!(err instanceof Amf0FormatError)) {
        throw new Error(`Fuzz case ${i} threw ${err}: ${[...input]}`);
      }
    }
  }
});
