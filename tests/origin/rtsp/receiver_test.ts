import assert from "node:assert/strict";
import {
  encodeRtp,
  packetizeH264,
  RtpFormatError,
} from "../../../codec/rtp/mod.ts";
import { describeTracks, parseSdp } from "../../../codec/sdp/mod.ts";
import {
  MAX_FOREIGN_PACKETS,
  RtspReceiver,
} from "../../../origin/rtsp/receiver.ts";
import {
  PPS_320X240_BASELINE,
  SPS_320X240_BASELINE,
} from "../../fixtures/h264.ts";

const SDP =
  "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n";

function packets(
  ssrc: number,
  firstSeq: number,
  ts: number,
  nalus: Uint8Array[],
): Uint8Array[] {
  return packetizeH264(nalus, 1400).map((p, i) =>
    encodeRtp({
      marker: p.marker,
      payloadType: 96,
      sequence: (firstSeq + i) & 0xffff,
      timestamp: ts,
      ssrc,
      payload: p.payload,
    })
  );
}

Deno.test("RtspReceiver.rtp() turns H.264 over RTP into FLV tags on the hub's clock", () => {
  let now = 0;
  const rx = new RtspReceiver(describeTracks(parseSdp(SDP)).tracks, {
    now: () => now,
    encoder: "t",
  });
  const idr = new Uint8Array(3000).fill(1);
  idr[0] = 0x65;
  const tags = packets(5, 100, 90_000, [
    SPS_320X240_BASELINE,
    PPS_320X240_BASELINE,
    idr,
  ]).flatMap((b) => rx.rtp(0, b));
  assert.deepEqual(tags.map((t) => [t.type, t.data[0], t.timestampMs]), [
    [18, 2, 0],
    [9, 0x17, 0],
    [9, 0x17, 0],
  ]);
  now = 40;
  const p = packets(5, 105, 90_000 + 3600, [new Uint8Array([0x41, 7])]).flatMap(
    (b) => rx.rtp(0, b),
  );
  assert.deepEqual(p.map((t) => [t.data[0], t.timestampMs]), [[0x27, 40]]);
});

Deno.test("RtspReceiver.rtp() drops another SSRC's packets, counts gaps, and gives the track up after a takeover", () => {
  const rx = new RtspReceiver(describeTracks(parseSdp(SDP)).tracks, {
    now: () => 0,
    encoder: "t",
  });
  const anomalies: string[] = [];
  rx.onAnomaly = (w) => anomalies.push(w);
  for (
    const b of packets(5, 1, 0, [
      SPS_320X240_BASELINE,
      PPS_320X240_BASELINE,
      new Uint8Array([0x65, 1]),
    ])
  ) rx.rtp(0, b);
  assert.deepEqual(
    packets(9, 50, 3000, [new Uint8Array([0x41, 1])]).flatMap((b) =>
      rx.rtp(0, b)
    ),
    [],
  );
  assert.equal(rx.stats.foreignSsrc, 1);
  assert.equal(anomalies.length, 1, "one log line, not one per packet");
  const gap = packets(5, 10, 6000, [new Uint8Array([0x41, 2])]).flatMap((b) =>
    rx.rtp(0, b)
  );
  assert.equal(gap.length, 1, "a single-NAL frame after a gap still decodes");
  assert.equal(rx.stats.lost, 6); // 4..9 between seq 3 and 10
  assert.throws(() => {
    for (let i = 0; i < MAX_FOREIGN_PACKETS; i++) {
      rx.rtp(0, packets(9, 60 + i, 9000, [new Uint8Array([0x41, 3])])[0]!);
    }
  }, (e) => e instanceof RtpFormatError && /SSRC changed/.test(e.message));
});
