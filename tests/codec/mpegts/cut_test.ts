import assert from "node:assert/strict";
import {
  PCR_DELAY_TICKS,
  scanTsKeyframes,
  sliceTs,
  StreamType,
  TS_PACKET_BYTES,
  TsDemuxer,
  TsFormatError,
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

/** A 3 s segment: PSI, then 25 fps video (a keyframe each second, 1 KB..3 KB frames) and audio PES every ~85 ms. */
function segment(mux: TsMuxer, startMs: number) {
  const parts = [mux.writePsi()];
  let audioMs = startMs;
  for (let f = 0; f < 75; f++) {
    const ms = startMs + f * 40;
    while (audioMs <= ms) {
      parts.push(mux.writeAudio({
        ptsTicks: audioMs * 90,
        data: new Uint8Array(300).fill(0xa0),
      }));
      audioMs += 85;
    }
    parts.push(mux.writeVideo({
      dtsTicks: ms * 90,
      ptsTicks: ms * 90 + 3600,
      keyframe: f % 25 === 0,
      data: new Uint8Array(f % 25 === 0 ? 3000 : 1000).fill(f),
    }));
  }
  return concat(parts);
}

Deno.test("scanTsKeyframes finds the PSI packets and every keyframe's PES start with its PTS", () => {
  const mux = new TsMuxer({
    videoStreamType: StreamType.H264,
    audioStreamType: StreamType.AacAdts,
  });
  const seg = segment(mux, 10_000);
  const map = scanTsKeyframes(seg);
  assert.equal(map.packets, seg.byteLength / TS_PACKET_BYTES);
  assert.deepEqual(map.psiPackets, [0, 1]);
  assert.equal(map.videoPid, TsPid.Video);
  assert.deepEqual(
    map.keyframes.map((k) => k.ptsTicks),
    [10_000, 11_000, 12_000].map((ms) => ms * 90 + 3600 + PCR_DELAY_TICKS),
  );
  assert.deepEqual(
    map.keyframes.map((k) => k.dtsTicks),
    [10_000, 11_000, 12_000].map((ms) => ms * 90 + PCR_DELAY_TICKS),
  );
  for (const k of map.keyframes) {
    const p = seg.subarray(k.packet * TS_PACKET_BYTES);
    assert.equal(((p[1]! & 0x1f) << 8) | p[2]!, TsPid.Video);
    assert.ok(p[1]! & 0x40, "a PES starts there");
  }
  assert.throws(() => scanTsKeyframes(seg.subarray(1)), TsFormatError);
});

Deno.test("sliceTs cuts whole PES packets from one keyframe to another, headed by PAT and PMT", () => {
  const mux = new TsMuxer({
    videoStreamType: StreamType.H264,
    audioStreamType: StreamType.AacAdts,
  });
  const seg = segment(mux, 0);
  const map = scanTsKeyframes(seg);
  const [, k1, k2] = map.keyframes;
  const mid = sliceTs(seg, map, k1!.packet, k2!.packet);
  const r = new TsDemuxer().demux(mid);
  assert.ok(r.pat && r.pmt, "decodes on its own");
  const video = r.pes.filter((p) => p.pid === TsPid.Video);
  assert.equal(video.length, 25, "exactly the second GOP");
  assert.equal(video[0]!.randomAccess, true);
  assert.equal(video[0]!.ptsTicks, 1000 * 90 + 3600 + PCR_DELAY_TICKS);
  assert.deepEqual(
    video.map((p) => p.data.byteLength),
    [3000, ...Array(24).fill(1000)],
    "whole access units",
  );
  assert.ok(r.pes.some((p) => p.pid === TsPid.Audio), "its audio comes along");
  // From the start: the segment's own PSI, not a second copy; to the end: everything left.
  const head = sliceTs(seg, map, 0, k1!.packet);
  assert.equal(
    new TsDemuxer().demux(head).pes.filter((p) => p.pid === TsPid.Video).length,
    25,
  );
  const tail = sliceTs(seg, map, k2!.packet, Infinity);
  assert.equal(
    tail.byteLength,
    (map.psiPackets.length + map.packets - k2!.packet) * TS_PACKET_BYTES,
  );
  assert.equal(
    head.byteLength + mid.byteLength + tail.byteLength,
    seg.byteLength + 2 * map.psiPackets.length * TS_PACKET_BYTES,
  );
});
