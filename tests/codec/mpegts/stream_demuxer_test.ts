import assert from "node:assert/strict";
import {
  MAX_RESYNC_BYTES,
  StreamType,
  TsElementaryReader,
  TsFormatError,
  TsLiveWriter,
  TsMuxer,
  TsPid,
  TsStreamDemuxer,
  type TsStreamEvent,
} from "../../../codec/mpegts/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";
import { FlvToElementary } from "../../../codec/flv/mod.ts";
import { ElementaryToFlv } from "../../../codec/flv/mod.ts";
import {
  PPS_320X240_BASELINE,
  SPS_320X240_BASELINE,
} from "../../fixtures/h264.ts";

/** A TS of PAT/PMT, a 3000-byte keyframe, a P frame and an ADTS audio PES. */
function sampleTs(): Uint8Array {
  const mux = new TsMuxer({
    videoStreamType: StreamType.H264,
    audioStreamType: StreamType.AacAdts,
  });
  const idr = new Uint8Array(3000).fill(0x55);
  idr.set([0, 0, 0, 1, 0x65], 0);
  const adts = new Uint8Array([
    0xff,
    0xf1,
    0x50,
    0x80,
    0x02,
    0x1f,
    0xfc,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
  return new Uint8Array([
    ...mux.writePsi(),
    ...mux.writeVideo({
      dtsTicks: 0,
      ptsTicks: 3600,
      keyframe: true,
      data: idr,
    }),
    ...mux.writeAudio({ ptsTicks: 0, data: adts }),
    ...mux.writeVideo({
      dtsTicks: 3600,
      ptsTicks: 7200,
      keyframe: false,
      data: new Uint8Array([0, 0, 1, 0x41, 9]),
    }),
  ]);
}

function pesOf(events: TsStreamEvent[]) {
  return events.flatMap((e) => (e.kind === "pes" ? [e.pes] : []));
}

Deno.test("TsStreamDemuxer.push() gives the same PES packets whatever the split", () => {
  const ts = sampleTs();
  const whole = new TsStreamDemuxer();
  const expected = pesOf([...whole.push(ts), ...whole.flush()]);
  assert.deepEqual(
    expected.map((p) => [p.pid, p.streamType, p.data.byteLength]),
    [
      [TsPid.Video, 0x1b, 3000],
      [TsPid.Audio, 0x0f, 16],
      [TsPid.Video, 0x1b, 5],
    ],
  );
  assert.equal(expected[0]!.randomAccess, true);
  const next = createPrng(7);
  for (let run = 0; run < 50; run++) {
    const d = new TsStreamDemuxer();
    const events: TsStreamEvent[] = [];
    for (let o = 0; o < ts.byteLength;) {
      const n = 1 + (next() % 700);
      events.push(...d.push(ts.subarray(o, o + n)));
      o += n;
    }
    events.push(...d.flush());
    assert.deepEqual(
      pesOf(events).map((p) => [...p.data]),
      expected.map((p) => [...p.data]),
    );
  }
});

Deno.test("TsStreamDemuxer.push() drops the PES a lost packet cut and counts it", () => {
  const ts = sampleTs();
  // Packet 3 is the second packet of the keyframe's PES: remove it.
  const cut = new Uint8Array([
    ...ts.subarray(0, 3 * 188),
    ...ts.subarray(4 * 188),
  ]);
  const d = new TsStreamDemuxer();
  const pes = pesOf([...d.push(cut), ...d.flush()]);
  assert.deepEqual(pes.map((p) => p.data.byteLength), [16, 5]);
  assert.equal(d.stats.continuityErrors, 1);
});

Deno.test("TsStreamDemuxer.push() skips junk between packets and throws TS_BAD_SYNC on no TS at all", () => {
  const ts = sampleTs();
  const d = new TsStreamDemuxer();
  const junky = new Uint8Array([
    ...ts.subarray(0, 376),
    1,
    2,
    3,
    ...ts.subarray(376),
  ]);
  assert.equal(pesOf([...d.push(junky), ...d.flush()]).length, 3);
  assert.equal(d.stats.resyncBytes, 3);
  assert.throws(
    () =>
      new TsStreamDemuxer().push(
        new Uint8Array(MAX_RESYNC_BYTES + 400).fill(0x11),
      ),
    (e) => e instanceof TsFormatError && e.code === "TS_BAD_SYNC",
  );
});

Deno.test("TsStreamDemuxer and TsElementaryReader throw TsFormatError or give frames on random and mutated input", () => {
  const next = createPrng(188);
  const ts = sampleTs();
  for (let i = 0; i < 1500; i++) {
    const input = i % 5 === 0
      ? randomBytes(next, next() % 4000)
      : mutate(next, ts);
    const d = new TsStreamDemuxer();
    const r = new TsElementaryReader();
    try {
      for (const e of [...d.push(input), ...d.flush()]) {
        if (e.kind === "pes") r.read(e.pes);
      }
    } catch (e) {
      assert.ok(e instanceof TsFormatError, `case ${i}: ${e}`);
    }
  }
});

Deno.test("TsElementaryReader.read() unwraps the 33-bit clock and times each ADTS frame", () => {
  const r = new TsElementaryReader();
  const wrap = 2 ** 33;
  const v1 = r.read({
    pid: 256,
    streamType: 0x1b,
    ptsTicks: wrap - 900,
    dtsTicks: wrap - 900,
    randomAccess: true,
    data: new Uint8Array([0, 0, 1, 0x65]),
  });
  const v2 = r.read({
    pid: 256,
    streamType: 0x1b,
    ptsTicks: 2700,
    dtsTicks: 2700,
    randomAccess: false,
    data: new Uint8Array([0, 0, 1, 0x41]),
  });
  assert.ok(v1[0]?.kind === "video" && v2[0]?.kind === "video");
  assert.equal(v1[0].frame.dtsMs, 0);
  assert.equal(v2[0].frame.dtsMs, 40); // 3600 ticks later across the wrap
  const adts = (
    n: number,
  ) => [
    0xff,
    0xf1,
    0x50,
    0x80,
    ((7 + n) >> 3) & 0xff,
    (((7 + n) & 7) << 5) | 0x1f,
    0xfc,
    ...new Array(n).fill(1),
  ];
  const a = r.read({
    pid: 257,
    streamType: 0x0f,
    ptsTicks: 2700,
    dtsTicks: 2700,
    randomAccess: false,
    data: new Uint8Array([...adts(4), ...adts(6)]),
  });
  assert.deepEqual(a.map((e) => e.kind), ["aac-config", "audio", "audio"]);
  const times = a.flatMap((e) => (e.kind === "audio" ? [e.frame.ptsMs] : []));
  assert.equal(times[0], 40);
  assert.ok(Math.abs(times[1]! - (40 + 1024_000 / 44100)) < 1e-6);
});

Deno.test("TS in, FLV tags, TS out: H.264 and AAC survive the SRT publish and play paths", () => {
  // Publish path: TS → elementary frames → FLV tags (what the hub gets).
  const mux = new TsMuxer({
    videoStreamType: StreamType.H264,
    audioStreamType: StreamType.AacAdts,
  });
  const au = (nalus: Uint8Array[]) =>
    new Uint8Array(nalus.flatMap((n) => [0, 0, 0, 1, ...n]));
  const idr = new Uint8Array([0x65, 0x88, 0x84, 0x00]);
  const ts = new Uint8Array([
    ...mux.writePsi(),
    ...mux.writeVideo({
      dtsTicks: 0,
      ptsTicks: 0,
      keyframe: true,
      data: au([
        new Uint8Array([9, 0xf0]),
        SPS_320X240_BASELINE,
        PPS_320X240_BASELINE,
        idr,
      ]),
    }),
    ...mux.writeAudio({
      ptsTicks: 0,
      data: new Uint8Array([
        0xff,
        0xf1,
        0x50,
        0x80,
        0x01,
        0x5f,
        0xfc,
        0x21,
        0x22,
        0x23,
      ]),
    }),
    ...mux.writeVideo({
      dtsTicks: 3600,
      ptsTicks: 3600,
      keyframe: false,
      data: au([new Uint8Array([0x41, 0x9a])]),
    }),
  ]);
  const d = new TsStreamDemuxer();
  const r = new TsElementaryReader();
  const flv = new ElementaryToFlv({ encoder: "test" });
  const tags = [];
  for (const e of [...d.push(ts), ...d.flush()]) {
    if (e.kind !== "pes") continue;
    for (const x of r.read(e.pes)) {
      if (x.kind === "video") tags.push(...flv.pushVideo(x.frame));
      if (x.kind === "aac-config") flv.setAacConfig(x.asc);
      if (x.kind === "audio") tags.push(...flv.pushAudio(x.frame));
    }
  }
  // onMetaData, AVC sequence header, keyframe, AAC sequence header, AAC frame, P frame.
  assert.deepEqual(tags.map((t) => [t.type, t.data[0], t.data[1]]), [
    [18, 2, 0],
    [9, 0x17, 0],
    [9, 0x17, 1],
    [8, 0xaf, 0],
    [8, 0xaf, 1],
    [9, 0x27, 1],
  ]);
  assert.deepEqual(tags.map((t) => t.timestampMs), [0, 0, 0, 0, 0, 40]);
  assert.deepEqual([...tags[4]!.data.subarray(2)], [0x21, 0x22, 0x23]);

  // Play path: FLV tags → elementary frames → TS (what an SRT player gets), and back.
  const reader = new FlvToElementary();
  const writer = new TsLiveWriter();
  const out: number[] = [];
  for (const t of tags) {
    for (const e of reader.push(t)) out.push(...writer.write(e));
  }
  const back = pesOf(new TsStreamDemuxer().push(new Uint8Array(out)));
  const again = new TsStreamDemuxer();
  const pes = pesOf([...again.push(new Uint8Array(out)), ...again.flush()]);
  assert.ok(back.length >= 2);
  assert.deepEqual(pes.map((p) => p.streamType), [0x1b, 0x0f, 0x1b]);
  // The keyframe AU: AUD, SPS, PPS (repeated from the sequence header), IDR.
  assert.deepEqual([...pes[0]!.data], [
    ...au([
      new Uint8Array([9, 0xf0]),
      SPS_320X240_BASELINE,
      PPS_320X240_BASELINE,
      idr,
    ]),
  ]);
  assert.deepEqual([...pes[1]!.data.subarray(7)], [0x21, 0x22, 0x23]);
});
