import assert from "node:assert/strict";
import { decodeRtp, RTP_HEADER_BYTES } from "../../../codec/rtp/mod.ts";
import {
  WEBRTC_MAX_PAYLOAD_BYTES,
  WhepSender,
} from "../../../origin/webrtc/whep_sender.ts";
import {
  aacConfigTag,
  aacTag,
  avcConfigTag,
  videoTag,
} from "../../_helpers/synth_flv.ts";
import { bigFrame } from "./_fixtures.ts";

Deno.test("whep sender: nothing before the first keyframe, then SPS and PPS ahead of the IDR", () => {
  const tx = new WhepSender({ random: () => 1000, payloadType: 104 });
  assert.deepEqual(tx.push(avcConfigTag(0)), []);
  assert.deepEqual(tx.push(videoTag(0, false)), []);
  assert.equal(tx.started, false);
  const key = tx.push(videoTag(40, true)).map(decodeRtp);
  assert.deepEqual(key.map((p) => p.payload[0]! & 0x1f), [7, 8, 5]);
  assert.deepEqual(key.map((p) => p.marker), [false, false, true]);
  assert.ok(key.every((p) => p.payloadType === 104));
  // 90 kHz clock from a random base; sequence numbers consecutive.
  assert.ok(key.every((p) => p.timestamp === 1000 + 40 * 90));
  assert.deepEqual(key.map((p) => p.sequence), [1000, 1001, 1002]);
  const next = tx.push(videoTag(80, false)).map(decodeRtp);
  assert.deepEqual(next.map((p) => [p.payload[0]! & 0x1f, p.sequence]), [
    [1, 1003],
  ]);
  assert.equal(next[0]!.timestamp, 1000 + 80 * 90);
  assert.equal(tx.stats.frames, 2);
  assert.equal(tx.stats.skipped, 1);
  assert.equal(tx.profileIdc, 0x42);
});

Deno.test("whep sender: a large NAL unit goes in FU-A packets that fit the MTU", () => {
  const tx = new WhepSender({ random: () => 0 });
  tx.push(avcConfigTag(0));
  const packets = tx.push(bigFrame(0, true, 20_000));
  assert.ok(
    packets.every((b) =>
      b.byteLength <= RTP_HEADER_BYTES + WEBRTC_MAX_PAYLOAD_BYTES
    ),
  );
  const fus = packets.map(decodeRtp).filter((p) =>
    (p.payload[0]! & 0x1f) === 28
  );
  assert.ok(fus.length >= 20_000 / WEBRTC_MAX_PAYLOAD_BYTES);
  assert.equal(fus[0]!.payload[1]! & 0x80, 0x80, "start bit");
  assert.equal(fus.at(-1)!.payload[1]! & 0x40, 0x40, "end bit");
  assert.equal(fus.at(-1)!.marker, true);
});

Deno.test("whep sender: AAC audio is noted and not sent", () => {
  const tx = new WhepSender({ random: () => 0 });
  tx.push(avcConfigTag(0));
  assert.deepEqual(tx.push(aacConfigTag(0)), []);
  assert.deepEqual(tx.push(aacTag(21)), []);
  assert.equal(tx.audioCodec, "aac");
});
