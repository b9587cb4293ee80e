import assert from "node:assert/strict";
import {
  Amf0EcmaArray,
  Amf0FormatError,
  type Amf0Object,
  type Amf0Value,
  decodeAll,
  encodeAmf0,
  writeAmf0,
} from "../../../codec/amf0/mod.ts";
import { ByteWriter } from "../../../codec/bytes/writer.ts";

Deno.test("encodeAmf0() round-trips a connect command", () => {
  const values: Amf0Value[] = [
    "connect",
    1,
    {
      app: "live",
      flashVer: "FMLE/3.0 (compatible; FMSc/1.0)",
      tcUrl: "rtmp://127.0.0.1:1935/live",
      fpad: false,
      capabilities: 15,
      audioCodecs: 4071,
      videoCodecs: 252,
      videoFunction: 1,
      objectEncoding: 0,
    },
  ];
  assert.deepEqual(decodeAll(encodeAmf0(...values)), values);
});

Deno.test("encodeAmf0() writes the ECMA array count", () => {
  const bytes = encodeAmf0(new Amf0EcmaArray({ a: 1, b: 2 }));
  assert.deepEqual([...bytes.subarray(0, 5)], [0x08, 0, 0, 0, 2]);
});

Deno.test("writeAmf0() appends to a writer", () => {
  const w = new ByteWriter(4);
  writeAmf0(w, null);
  writeAmf0(w, true);
  assert.deepEqual(w.finish(), new Uint8Array([0x05, 0x01, 0x01]));
});

Deno.test("encodeAmf0() rejects cycles with AMF0_TOO_DEEP", () => {
  const a: Amf0Object = {};
  a.self = a;
  assert.throws(() => encodeAmf0(a), (err: unknown) => {
    assert.ok(err instanceof Amf0FormatError);
    assert.equal(err.code, "AMF0_TOO_DEEP");
    return true;
  });
});

Deno.test("encodeAmf0() rejects values AMF0 cannot carry", () => {
  for (const bad of [() => 1, Symbol("x"), 1n, new Map()]) {
    assert.throws(
      () => encodeAmf0(bad as unknown as Amf0Value),
      (err: unknown) => {
        assert.ok(err instanceof Amf0FormatError);
        assert.equal(err.code, "AMF0_NOT_ENCODABLE");
        return true;
      },
    );
  }
});
