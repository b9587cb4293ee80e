import assert from "node:assert/strict";
import {
  StreamType,
  TS_PACKET_BYTES,
  TsDemuxer,
  TsErrorCode,
  TsFormatError,
  TsMuxer,
} from "../../../codec/mpegts/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

Deno.test("TsDemuxer.demux() reports continuity errors across calls", () => {
  const mux = new TsMuxer({ audioStreamType: StreamType.AacAdts });
  const demux = new TsDemuxer();
  demux.demux(mux.writeAudio({ ptsTicks: 0, data: new Uint8Array(10) }));
  mux.writeAudio({ ptsTicks: 0, data: new Uint8Array(10) }); // lost packet
  const r = demux.demux(
    mux.writeAudio({ ptsTicks: 0, data: new Uint8Array(10) }),
  );
  assert.deepEqual(r.continuityErrors, [{
    pid: 0x101,
    packetIndex: 0,
    expected: 1,
    got: 2,
  }]);
});

Deno.test("TsDemuxer.demux() rejects ragged input, lost sync and bad CRC", () => {
  const mux = new TsMuxer({ audioStreamType: StreamType.AacAdts });
  const psi = mux.writePsi();
  assert.throws(
    () => new TsDemuxer().demux(psi.subarray(1)),
    (e) => e instanceof TsFormatError && e.code === TsErrorCode.BadSync,
  );
  const noSync = psi.slice();
  noSync[188] = 0x46;
  assert.throws(
    () => new TsDemuxer().demux(noSync),
    (e) => e instanceof TsFormatError && e.code === TsErrorCode.BadSync,
  );
  const badCrc = psi.slice();
  badCrc[188 + 15] = badCrc[188 + 15]! ^ 1;
  assert.throws(
    () => new TsDemuxer().demux(badCrc),
    (e) => e instanceof TsFormatError && e.code === TsErrorCode.BadPsi,
  );
});

/** Psi, a keyframe over several packets and two audio frames: a real segment's shape. */
function seedSegment(): Uint8Array {
  const mux = new TsMuxer({
    videoStreamType: StreamType.H264,
    audioStreamType: StreamType.AacAdts,
  });
  const parts = [
    mux.writePsi(),
    mux.writeVideo({
      dtsTicks: 900,
      ptsTicks: 4500,
      keyframe: true,
      data: new Uint8Array(700).map((_, i) => i & 0xff),
    }),
    mux.writeAudio({ ptsTicks: 1000, data: new Uint8Array(200).fill(0x21) }),
    mux.writeAudio({ ptsTicks: 3000, data: new Uint8Array(150).fill(0x42) }),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

Deno.test("TsDemuxer.demux() fuzz: mutated and random TS gives TsFormatError or a result, never another error", () => {
  const next = createPrng(0x75d3);
  const seed = seedSegment();
  const packets = seed.byteLength / TS_PACKET_BYTES;
  const inputs: Uint8Array[] = [];
  // Any mutation (most break the 188-byte framing: the length check must catch them).
  for (let i = 0; i < 600; i++) inputs.push(mutate(next, seed));
  // Mutations that keep the framing, so headers, PSI and PES are what gets hit.
  for (let i = 0; i < 1200; i++) {
    const m = seed.slice();
    for (let k = 1 + (next() % 6); k > 0; k--) {
      const at = next() % m.byteLength;
      m[at] = next() % 3 === 0 ? 0xff : m[at]! ^ (1 << (next() % 8));
    }
    inputs.push(m);
  }
  // Whole packets dropped or cut at packet boundaries; random packets with a sync byte.
  for (let i = 0; i < 300; i++) {
    const n = next() % (packets + 1);
    inputs.push(seed.subarray(0, n * TS_PACKET_BYTES));
  }
  for (let i = 0; i < 300; i++) {
    const p = randomBytes(next, TS_PACKET_BYTES * (1 + (next() % 3)));
    for (let o = 0; o < p.byteLength; o += TS_PACKET_BYTES) p[o] = 0x47;
    inputs.push(p);
  }
  // Packets that start a PES after an adaptation field of any length: PES headers cut short.
  for (let i = 0; i < 600; i++) {
    const m = seed.slice();
    const at = (1 + (next() % (packets - 1))) * TS_PACKET_BYTES;
    const afLength = next() % 184;
    m[at + 1] = 0x40 | (m[at + 1]! & 0x1f); // payload_unit_start_indicator
    m[at + 3] = 0x30 | (m[at + 3]! & 0x0f); // adaptation field and payload
    m[at + 4] = afLength;
    const payloadAt = at + 5 + afLength;
    m.set([0, 0, 1].slice(0, Math.max(0, at + 188 - payloadAt)), payloadAt);
    for (let o = payloadAt + 3; o < at + TS_PACKET_BYTES; o++) {
      if (next() % 2) m[o] = next() & 0xff;
    }
    inputs.push(m);
  }
  let results = 0;
  for (const input of inputs) {
    try {
      const r = new TsDemuxer().demux(input);
      results++;
      assert.equal(r.packets.length, input.byteLength / TS_PACKET_BYTES);
      for (const pes of r.pes) {
        assert.ok(pes.data.byteLength <= input.length);
        // 33-bit timestamps (ISO/IEC 13818-1 §2.4.3.7), read from bytes that were there.
        for (const t of [pes.ptsTicks, pes.dtsTicks]) {
          assert.ok(Number.isInteger(t) && t >= 0 && t < 2 ** 33, String(t));
        }
      }
    } catch (e) {
      assert.ok(
        e instanceof TsFormatError,
        `not a TsFormatError: ${e} for ${input.byteLength} bytes`,
      );
    }
  }
  assert.ok(
    results > 300,
    `only ${results} inputs demuxed: the fuzz is too blunt`,
  );
});
