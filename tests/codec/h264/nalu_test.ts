import assert from "node:assert/strict";
import {
  avccToAnnexB,
  buildAnnexBAccessUnit,
  H264FormatError,
  NaluType,
  naluType,
  splitAvccNalus,
} from "../../../codec/h264/mod.ts";

const SC = [0, 0, 0, 1];

Deno.test("splitAvccNalus() handles 1-, 2- and 4-byte lengths", () => {
  assert.deepEqual(
    splitAvccNalus(new Uint8Array([2, 0x09, 0xf0, 1, 0x41]), 1),
    [
      new Uint8Array([0x09, 0xf0]),
      new Uint8Array([0x41]),
    ],
  );
  assert.deepEqual(splitAvccNalus(new Uint8Array([0, 1, 0x41, 0, 0]), 2), [
    new Uint8Array([0x41]),
  ]);
  assert.deepEqual(splitAvccNalus(new Uint8Array(0), 4), []);
});

Deno.test("splitAvccNalus() throws H264FormatError on overruns", () => {
  assert.throws(
    () => splitAvccNalus(new Uint8Array([0, 0, 0, 5, 1]), 4),
    H264FormatError,
  );
  assert.throws(
    () => splitAvccNalus(new Uint8Array([0, 0, 1]), 4),
    H264FormatError,
  );
});

Deno.test("avccToAnnexB() replaces lengths with start codes", () => {
  assert.deepEqual(
    avccToAnnexB(new Uint8Array([0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 1, 0x65]), 4),
    new Uint8Array([...SC, 0x06, 0x05, ...SC, 0x65]),
  );
});

Deno.test("buildAnnexBAccessUnit() adds AUD and parameter sets before an IDR", () => {
  const sei = new Uint8Array([0x06, 0x05]);
  const idr = new Uint8Array([0x65, 0x88]);
  const ps = {
    sps: [new Uint8Array([0x67, 1])],
    pps: [new Uint8Array([0x68, 2])],
  };
  assert.deepEqual(
    buildAnnexBAccessUnit([sei, idr], ps),
    new Uint8Array([
      ...SC,
      0x09,
      0xf0,
      ...SC,
      0x67,
      1,
      ...SC,
      0x68,
      2,
      ...SC,
      0x06,
      0x05,
      ...SC,
      0x65,
      0x88,
    ]),
  );
});

Deno.test("buildAnnexBAccessUnit() keeps an existing AUD and in-band SPS, adds nothing to non-IDR", () => {
  const aud = new Uint8Array([0x09, 0x10]);
  const sps = new Uint8Array([0x67, 9]);
  const idr = new Uint8Array([0x65]);
  const ps = {
    sps: [new Uint8Array([0x67, 1])],
    pps: [new Uint8Array([0x68, 2])],
  };
  assert.deepEqual(
    buildAnnexBAccessUnit([sps, aud, idr], ps),
    new Uint8Array([...SC, 0x09, 0x10, ...SC, 0x67, 9, ...SC, 0x65]),
  );
  assert.deepEqual(
    buildAnnexBAccessUnit([new Uint8Array([0x41, 7])], ps),
    new Uint8Array([...SC, 0x09, 0xf0, ...SC, 0x41, 7]),
  );
  assert.equal(naluType(new Uint8Array([0x65])), NaluType.Idr);
  assert.equal(naluType(new Uint8Array(0)), -1);
});
