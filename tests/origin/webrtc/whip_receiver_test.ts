import assert from "node:assert/strict";
import { FlvToElementary } from "../../../codec/flv/es_reader.ts";
import type { FlvTag } from "../../../codec/flv/mod.ts";
import { H264FormatError } from "../../../codec/h264/mod.ts";
import {
  decodeRtp,
  encodeRtp,
  RtpFormatError,
} from "../../../codec/rtp/mod.ts";
import { WhepSender } from "../../../origin/webrtc/whep_sender.ts";
import { WhipReceiver } from "../../../origin/webrtc/whip_receiver.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";
import { avcConfigTag, videoTag } from "../../_helpers/synth_flv.ts";
import { bigFrame } from "./_fixtures.ts";

/** RTP of `frames` video frames (every 10th a keyframe of 6 kB, so FU-A), 25 fps. */
function rtpOf(frames: number, base = 0): Uint8Array[][] {
  const tx = new WhepSender({ random: () => base });
  tx.push(avcConfigTag(0));
  const out: Uint8Array[][] = [];
  for (let i = 0; i < frames; i++) {
    out.push(
      tx.push(
        i % 10 === 0 ? bigFrame(i * 40, true, 6000) : videoTag(i * 40, false),
      ),
    );
  }
  return out;
}

/** The video frames of `tags` as [pts, keyframe, NAL types]. */
function framesOf(tags: readonly FlvTag[]): [number, boolean, number[]][] {
  const r = new FlvToElementary();
  const out: [number, boolean, number[]][] = [];
  for (const t of tags) {
    for (const e of r.push(t)) {
      if (e.kind === "video") {
        out.push([e.ptsMs, e.keyframe, e.nalus.map((n) => n[0]! & 0x1f)]);
      }
    }
  }
  return out;
}

Deno.test("whip receiver: RTP of H.264 becomes the AVC sequence header and frames on the hub's clock", () => {
  const rx = new WhipReceiver({ encoder: "test" });
  const tags = rtpOf(20).flat().flatMap((p) => rx.push(p, 0));
  assert.equal(tags[0]!.type, 18, "onMetaData first");
  assert.deepEqual(
    [...tags[1]!.data.subarray(0, 2)],
    [0x17, 0],
    "AVC sequence header",
  );
  const frames = framesOf(tags);
  assert.equal(frames.length, 20);
  assert.deepEqual(frames[0], [0, true, [7, 8, 5]]);
  assert.deepEqual(frames[1], [40, false, [1]]);
  assert.deepEqual(frames[10]![0], 400);
  assert.equal(rx.stats.frames, 20);
  assert.deepEqual(rx.picture, { width: 320, height: 240 });
});

Deno.test("whip receiver: retransmitted (late) packets are put back in order, nothing is lost", () => {
  const rx = new WhipReceiver({ encoder: "test" });
  const packets = rtpOf(30).flat();
  // Every 7th packet arrives 3 places late, as a NACK repair would (not the first: a receiver
  // cannot know a packet before the first it saw).
  for (let i = 7; i + 3 < packets.length; i += 7) {
    const [p] = packets.splice(i, 1);
    packets.splice(i + 3, 0, p!);
  }
  const tags = packets.flatMap((p) => rx.push(p, 0));
  assert.equal(framesOf(tags).length, 30);
  assert.equal(rx.sequenceStats.lost, 0);
  assert.ok(rx.sequenceStats.reordered > 0);
});

Deno.test("whip receiver: a lost fragment drops its frame only; the next ones go on", () => {
  const rx = new WhipReceiver({ encoder: "test" });
  const perFrame = rtpOf(21);
  perFrame[10]!.splice(2, 1); // a middle FU-A fragment of the second keyframe
  const tags: FlvTag[] = [];
  let now = 0;
  for (const frame of perFrame) {
    now += 40;
    for (const p of frame) tags.push(...rx.push(p, now));
    tags.push(...rx.poll(now));
  }
  tags.push(...rx.poll(now + 1000));
  const frames = framesOf(tags);
  assert.equal(frames.length, 20);
  assert.equal(
    frames.some(([pts]) => pts === 400),
    false,
    "the broken keyframe is dropped",
  );
  assert.equal(rx.stats.damaged, 1);
  assert.equal(rx.takeKeyframeRequest(), true, "a keyframe is asked for");
  assert.equal(rx.takeKeyframeRequest(), false, "once");
  assert.ok(frames.some(([pts]) => pts === 440), "the frame after it is there");
  assert.equal(rx.sequenceStats.lost, 1);
});

Deno.test("whip receiver: another SSRC is dropped; timestamps carry across the 32-bit wrap", () => {
  const rx = new WhipReceiver({ encoder: "test" });
  const packets = rtpOf(4, 2 ** 32 - 5000).flat();
  const tags = packets.flatMap((p) => rx.push(p, 0));
  const stray = decodeRtp(packets[0]!);
  rx.push(encodeRtp({ ...stray, ssrc: 99, sequence: 7 }), 0);
  assert.equal(rx.stats.foreignSsrc, 1);
  assert.deepEqual(framesOf(tags).map(([pts]) => pts), [0, 40, 80, 120]);
});

Deno.test("whip receiver fuzz: random and mutated packets give tags or a format error, never another throw", () => {
  const next = createPrng(0xc0ffee);
  const good = rtpOf(12).flat();
  let errors = 0;
  for (let round = 0; round < 300; round++) {
    const rx = new WhipReceiver({ encoder: "fuzz" });
    for (let i = 0; i < 40; i++) {
      const seed = good[(round + i) % good.length]!;
      const bytes = next() % 5 === 0
        ? randomBytes(next, next() % 1500)
        : next() % 2 === 0
        ? mutate(next, seed)
        : seed;
      try {
        const tags = rx.push(bytes, i * 10);
        for (const t of tags) assert.ok(t.data.byteLength > 0);
        rx.poll(i * 10);
      } catch (err) {
        assert.ok(
          err instanceof RtpFormatError || err instanceof H264FormatError,
          `round ${round}: ${err}`,
        );
        errors++;
      }
    }
  }
  assert.ok(errors > 0);
});
