import assert from "node:assert/strict";
import type { FlvTag } from "../../../codec/flv/types.ts";
import { restartOnCodecChange } from "../../../origin/hls/codec_change.ts";

function recorder() {
  const seen: string[] = [];
  const name = (t: FlvTag) =>
    `${t.type === 9 ? "v" : "a"}${t.data[1] === 0 ? "cfg" : ""}${
      t.data.at(-1)
    }@${t.timestampMs}`;
  return {
    seen,
    listener: restartOnCodecChange({
      onTag: (t) => seen.push(name(t)),
      onEnd: () => seen.push("end"),
    }),
  };
}
const avcConfig = (v: number, ts = 0): FlvTag => ({
  type: 9,
  timestampMs: ts,
  data: new Uint8Array([0x17, 0, 0, 0, 0, 1, 0x42, v]),
});
const aacConfig = (v: number, ts = 0): FlvTag => ({
  type: 8,
  timestampMs: ts,
  data: new Uint8Array([0xaf, 0, 0x12, v]),
});
const frame = (ts: number): FlvTag => ({
  type: 9,
  timestampMs: ts,
  data: new Uint8Array([0x17, 1, 0, 0, 0, 7]),
});

Deno.test("restartOnCodecChange() passes tags through while the parameters stay the same", () => {
  const r = recorder();
  for (
    const t of [
      avcConfig(1),
      aacConfig(0x10),
      frame(0),
      avcConfig(1, 40),
      aacConfig(0x10, 40),
      frame(40),
    ]
  ) {
    r.listener.onTag(t);
  }
  assert.deepEqual(r.seen, [
    "vcfg1@0",
    "acfg16@0",
    "v7@0",
    "vcfg1@40",
    "acfg16@40",
    "v7@40",
  ]);
});

Deno.test("restartOnCodecChange() turns new video or audio parameters into an end and a fresh start with both configs", () => {
  const r = recorder();
  r.listener.onTag(avcConfig(1));
  r.listener.onTag(aacConfig(0x10));
  r.listener.onTag(frame(0));
  r.listener.onTag(avcConfig(2, 400)); // a new picture size
  r.listener.onTag(frame(400));
  r.listener.onTag(aacConfig(0x90, 800)); // a new sample rate
  assert.deepEqual(r.seen, [
    "vcfg1@0",
    "acfg16@0",
    "v7@0",
    "end",
    "vcfg2@400",
    "acfg16@400",
    "v7@400",
    "end",
    "vcfg2@800",
    "acfg144@800",
  ]);
});

Deno.test("restartOnCodecChange() forgets the parameters when the publish ends", () => {
  const r = recorder();
  r.listener.onTag(avcConfig(1));
  r.listener.onEnd();
  r.listener.onTag(avcConfig(2)); // a new publisher: not a change inside one publish
  assert.deepEqual(r.seen, ["vcfg1@0", "end", "vcfg2@0"]);
});
