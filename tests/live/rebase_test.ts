import assert from "node:assert/strict";
import { type FlvTag, FlvTagType } from "../../codec/flv/mod.ts";
import { REBASE_GAP_MS, TimestampRebaser } from "../../live/mod.ts";
import { createPrng } from "../_helpers/prng.ts";

const AVC_SEQ = new Uint8Array([0x17, 0, 0, 0, 0, 1, 0x64]);
const AAC_SEQ = new Uint8Array([0xaf, 0, 0x12, 0x10]);
const KEY = new Uint8Array([0x17, 1, 0, 0, 0, 9]);
const INTER = new Uint8Array([0x27, 1, 0, 0, 0, 9]);
const AAC = new Uint8Array([0xaf, 1, 0x21]);
const META = new Uint8Array([2, 0, 10, 0x6f]);

const tag = (
  type: FlvTag["type"],
  timestampMs: number,
  data: Uint8Array,
): FlvTag => ({ type, timestampMs, data });

Deno.test("TimestampRebaser: without a cut every tag passes unchanged (the same object)", () => {
  const r = new TimestampRebaser();
  for (const t of [tag(9, 0, AVC_SEQ), tag(9, 0, KEY), tag(8, 23, AAC)]) {
    assert.equal(r.retime(t), t);
  }
  assert.equal(r.lastOutMs, 23);
});

Deno.test("TimestampRebaser: after a cut, config tags take the last timestamp out and media continues after the gap", () => {
  const r = new TimestampRebaser();
  r.retime(tag(9, 0, KEY));
  r.retime(tag(9, 6000, INTER));
  r.cut();
  // The new source: its own clock starts at 2000 (its GOP's keyframe).
  const out = [
    tag(FlvTagType.Script, 0, META),
    tag(9, 2000, AVC_SEQ),
    tag(8, 2000, AAC_SEQ),
    tag(9, 2000, KEY),
    tag(8, 2010, AAC),
    tag(9, 2040, INTER),
  ].map((t) => r.retime(t).timestampMs);
  assert.deepEqual(out, [
    6000,
    6000,
    6000,
    6000 + REBASE_GAP_MS,
    6010 + REBASE_GAP_MS,
    6040 + REBASE_GAP_MS,
  ]);
  // A second cut stacks on the first.
  r.cut();
  assert.equal(r.retime(tag(9, 0, KEY)).timestampMs, 6080 + REBASE_GAP_MS);
});

Deno.test("TimestampRebaser: seeded sources with random clocks and cuts never go back per track", () => {
  const next = createPrng(0x16_16);
  for (let round = 0; round < 200; round++) {
    const r = new TimestampRebaser();
    const last = { 8: -1, 9: -1 } as Record<8 | 9, number>;
    let before = 0;
    for (let source = 0; source < 1 + (next() % 5); source++) {
      if (source > 0) {
        r.cut();
        before = r.lastOutMs;
      }
      let clock = next() % 100_000; // each source's own start
      for (let i = 0; i < 1 + (next() % 50); i++) {
        const type = next() % 2 === 0 ? 8 : 9;
        clock += next() % 60;
        const data = type === 9 ? (i === 0 ? KEY : INTER) : AAC;
        const ts = r.retime(tag(type, clock, data)).timestampMs;
        assert.ok(ts >= last[type], `round ${round}: ${ts} < ${last[type]}`);
        assert.ok(
          ts >= before,
          `round ${round}: ${ts} before the cut's ${before}`,
        );
        last[type] = ts;
      }
    }
  }
});
