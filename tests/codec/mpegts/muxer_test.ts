import assert from "node:assert/strict";
import {
  PCR_DELAY_TICKS,
  StreamType,
  TS_PACKET_BYTES,
  TsDemuxer,
  TsMuxer,
  TsPid,
} from "../../../codec/mpegts/mod.ts";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

Deno.test("TsMuxer writes PES payloads of every size that demux back intact", () => {
  const mux = new TsMuxer({
    videoStreamType: StreamType.H264,
    audioStreamType: StreamType.AacAdts,
  });
  const demux = new TsDemuxer();
  // Sizes around the packet boundaries: stuffing of 0, 1, 2 and many bytes.
  for (
    const size of [
      0,
      1,
      150,
      151,
      152,
      153,
      165,
      166,
      167,
      168,
      169,
      170,
      183,
      184,
      335,
      336,
      337,
      5000,
      70_000,
    ]
  ) {
    const data = new Uint8Array(size).map((_, i) => i & 0xff);
    const ts = concat([
      mux.writePsi(),
      mux.writeVideo({ dtsTicks: 900, ptsTicks: 4500, keyframe: true, data }),
      mux.writeAudio({
        ptsTicks: 1000,
        data: data.subarray(0, Math.min(size, 60_000)),
      }),
    ]);
    assert.equal(ts.byteLength % TS_PACKET_BYTES, 0);
    const r = demux.demux(ts);
    assert.deepEqual(r.continuityErrors, [], `size ${size}`);
    assert.equal(r.pes.length, 2);
    const [v, a] = r.pes;
    assert.deepEqual(v!.data, data, `video size ${size}`);
    assert.equal(v!.ptsTicks, 4500 + PCR_DELAY_TICKS);
    assert.equal(v!.dtsTicks, 900 + PCR_DELAY_TICKS);
    assert.equal(v!.randomAccess, true);
    assert.equal(a!.data.byteLength, Math.min(size, 60_000));
    assert.equal(a!.ptsTicks, 1000 + PCR_DELAY_TICKS);
  }
});

Deno.test("TsMuxer puts the PCR (= DTS) on the video PID, or on audio when audio-only", () => {
  const av = new TsMuxer({
    videoStreamType: StreamType.H264,
    audioStreamType: StreamType.AacAdts,
  });
  const r1 = new TsDemuxer().demux(concat([
    av.writePsi(),
    av.writeVideo({
      dtsTicks: 3600,
      ptsTicks: 7200,
      keyframe: false,
      data: new Uint8Array(10),
    }),
    av.writeAudio({ ptsTicks: 0, data: new Uint8Array(10) }),
  ]));
  assert.equal(r1.pmt?.pcrPid, TsPid.Video);
  const withPcr = r1.packets.filter((p) => p.pcrTicks !== undefined);
  assert.deepEqual(withPcr.map((p) => [p.pid, p.pcrTicks, p.randomAccess]), [[
    TsPid.Video,
    3600,
    false,
  ]]);

  const audioOnly = new TsMuxer({ audioStreamType: StreamType.AacAdts });
  const r2 = new TsDemuxer().demux(
    concat([
      audioOnly.writePsi(),
      audioOnly.writeAudio({ ptsTicks: 2 ** 33 + 9, data: new Uint8Array(10) }),
    ]),
  );
  assert.equal(r2.pmt?.pcrPid, TsPid.Audio);
  assert.deepEqual(r2.pmt?.streams, [{
    streamType: StreamType.AacAdts,
    pid: TsPid.Audio,
  }]);
  assert.equal(r2.packets[2]?.pcrTicks, 9);
});

Deno.test("TsMuxer continuity counters continue across segments and PMT version follows setTracks()", () => {
  const mux = new TsMuxer({ videoStreamType: StreamType.H264 });
  const demux = new TsDemuxer();
  for (let seg = 0; seg < 20; seg++) {
    if (seg === 10) {
      mux.setTracks({
        videoStreamType: StreamType.H264,
        audioStreamType: StreamType.Mpeg1Audio,
      });
    }
    mux.setTracks(mux.tracks); // unchanged: no new version
    const r = demux.demux(concat([
      mux.writePsi(),
      mux.writeVideo({
        dtsTicks: seg,
        ptsTicks: seg,
        keyframe: true,
        data: new Uint8Array(500),
      }),
    ]));
    assert.deepEqual(r.continuityErrors, []);
    assert.equal(r.packets[0]?.pid, TsPid.Pat);
    assert.equal(r.packets[1]?.pid, TsPid.Pmt);
    assert.equal(r.pmt?.version, seg < 10 ? 0 : 1);
  }
});
