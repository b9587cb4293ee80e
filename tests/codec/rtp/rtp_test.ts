import assert from "node:assert/strict";
import {
  AacDepacketizer,
  decodeRtp,
  encodeRtp,
  H264Depacketizer,
  H265Depacketizer,
  packetizeAac,
  packetizeH264,
  packetizeH265,
  parseSenderReports,
  RtpFormatError,
  RtpSequence,
} from "../../../codec/rtp/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

type Packet = { marker: boolean; timestamp: number; payload: Uint8Array };

function au(next: () => number, first: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const n = randomBytes(next, 2 + (next() % 5000));
    n[0] = i === 0 ? first : 0x41;
    n[1] = 1; // an H.265 layer/TID byte that is valid too
    return n;
  });
}

Deno.test("packetizeH264() then H264Depacketizer.push() gives the access units back", () => {
  const next = createPrng(6184);
  const d = new H264Depacketizer();
  for (let i = 0; i < 100; i++) {
    const nalus = au(next, 0x65, 1 + (next() % 4));
    const packets = packetizeH264(nalus, 1400);
    assert.ok(packets.every((p) => p.payload.byteLength <= 1400));
    const out = packets.flatMap((p) =>
      d.push({ ...p, timestamp: i * 3000 }, false)
    );
    assert.deepEqual(out, [{ nalus, timestamp: i * 3000 }]);
  }
});

Deno.test("H264Depacketizer.push() reads STAP-A, ends an AU on a new timestamp, and drops an FU-A a loss cut", () => {
  const d = new H264Depacketizer();
  const stap: Packet = {
    marker: false,
    timestamp: 1,
    payload: new Uint8Array([24, 0, 2, 0x67, 1, 0, 2, 0x68, 2]),
  };
  assert.deepEqual(d.push(stap, false), []);
  const next = d.push({
    marker: false,
    timestamp: 2,
    payload: new Uint8Array([0x41, 9]),
  }, false);
  assert.deepEqual(next, [{
    nalus: [new Uint8Array([0x67, 1]), new Uint8Array([0x68, 2])],
    timestamp: 1,
  }]);
  const [start, , end] = packetizeH264([
    new Uint8Array(3000).fill(5).fill(0x65, 0, 1),
  ], 1400);
  // A new timestamp ends the AU of timestamp 2.
  const flushed = d.push({ ...start!, timestamp: 3 }, false);
  assert.deepEqual(flushed.map((a) => a.timestamp), [2]);
  // The middle fragment is lost: the end fragment alone makes no NAL unit, so no AU.
  assert.deepEqual(d.push({ ...end!, timestamp: 3 }, true), []);
  assert.throws(
    () =>
      d.push({
        marker: true,
        timestamp: 4,
        payload: new Uint8Array([24, 0, 9, 1]),
      }, false),
    RtpFormatError,
  );
});

Deno.test("packetizeH265() then H265Depacketizer.push() gives the access units back", () => {
  const next = createPrng(7798);
  const d = new H265Depacketizer();
  for (let i = 0; i < 100; i++) {
    const nalus = au(next, 0x26, 1 + (next() % 4));
    const out = packetizeH265(nalus, 1400).flatMap((p) =>
      d.push({ ...p, timestamp: i }, false)
    );
    assert.deepEqual(out, [{ nalus, timestamp: i }]);
  }
  // An aggregation packet (RFC 7798 §4.4.2): PayloadHdr type 48, then sized NAL units.
  const ap = d.push({
    marker: true,
    timestamp: 500,
    payload: new Uint8Array([0x60, 1, 0, 3, 0x40, 1, 7, 0, 3, 0x42, 1, 8]),
  }, false);
  assert.deepEqual(ap[0]?.nalus, [
    new Uint8Array([0x40, 1, 7]),
    new Uint8Array([0x42, 1, 8]),
  ]);
});

Deno.test("packetizeAac() then AacDepacketizer.push() gives the frames back, fragmented ones too", () => {
  const next = createPrng(3640);
  const d = new AacDepacketizer();
  for (const size of [1, 200, 1396, 1397, 4000]) {
    const frame = randomBytes(next, size);
    const out = packetizeAac(frame, 1400).flatMap((p) =>
      d.push({ ...p, timestamp: 1024 * size }, false)
    );
    assert.deepEqual(
      out,
      [{ data: frame, timestamp: 1024 * size }],
      `size ${size}`,
    );
  }
});

Deno.test("RtpSequence.accept() locks the first SSRC and classifies loss, duplicates and late packets across the wrap", () => {
  const s = new RtpSequence();
  assert.deepEqual([65534, 65535, 0, 3, 3, 2, 4].map((n) => s.accept(7, n)), [
    "ok",
    "ok",
    "ok",
    "lost",
    "late",
    "late",
    "ok",
  ]);
  assert.equal(s.lost, 2);
  assert.equal(s.accept(8, 5), "foreign");
  assert.equal(s.foreign, 1);
});

Deno.test("decodeRtp() and the depacketizers throw RtpFormatError or give frames on random and mutated input", () => {
  const next = createPrng(3550);
  const seeds = [
    encodeRtp({
      marker: true,
      payloadType: 96,
      sequence: 1,
      timestamp: 2,
      ssrc: 3,
      payload: new Uint8Array([0x7c, 0x85, 1, 2, 3]),
    }),
    encodeRtp({
      marker: true,
      payloadType: 97,
      sequence: 1,
      timestamp: 2,
      ssrc: 3,
      payload: new Uint8Array([0, 16, 0, 16, 9, 9]),
    }),
    encodeRtp({
      marker: false,
      payloadType: 96,
      sequence: 1,
      timestamp: 2,
      ssrc: 3,
      payload: new Uint8Array([0x62, 1, 0x93, 4, 5]),
    }),
  ];
  const h264 = new H264Depacketizer();
  const h265 = new H265Depacketizer();
  const aac = new AacDepacketizer();
  for (let i = 0; i < 3000; i++) {
    const input = i % 9 === 0
      ? randomBytes(next, next() % 100)
      : mutate(next, seeds[i % 3]!);
    try {
      const p = decodeRtp(input);
      [h264, h265, aac][i % 3]!.push(p, next() % 5 === 0);
      parseSenderReports(input);
    } catch (e) {
      assert.ok(e instanceof RtpFormatError, `case ${i}: ${e}`);
    }
  }
});
