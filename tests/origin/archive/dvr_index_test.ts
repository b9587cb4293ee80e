import assert from "node:assert/strict";
import {
  type DvrIndexEntry,
  encodeEndLine,
  encodeEntryLine,
  encodeHeaderLine,
  parseIndex,
  SEGMENT_NAME_RE,
} from "../../../origin/archive/dvr_index.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

const ENTRY: DvrIndexEntry = {
  name: "lu3x-12.ts",
  sequence: 12,
  programDateTimeMs: 1714564800123,
  durationMs: 2002,
  mediaStartMs: 0,
  bytes: 412360,
  discontinuity: false,
};
const HEADER = {
  session: "1714564800000",
  app: "live",
  stream: "cam",
  startedAtMs: 1714564800000,
};

Deno.test("parseIndex() reads back what the encoders write: header, entries, end", () => {
  const text = encodeHeaderLine(HEADER) + encodeEntryLine(ENTRY) +
    encodeEntryLine({
      ...ENTRY,
      name: "lu3x-13.ts",
      sequence: 13,
      discontinuity: true,
    }) +
    encodeEndLine(1714564830000);
  assert.equal(
    encodeEntryLine(ENTRY),
    '{"n":"lu3x-12.ts","q":12,"t":1714564800123,"d":2002,"m":0,"b":412360}\n',
  );
  const p = parseIndex(text);
  assert.deepEqual(p.header, HEADER);
  assert.deepEqual(p.entries.map((e) => [e.name, e.discontinuity]), [
    ["lu3x-12.ts", false],
    ["lu3x-13.ts", true],
  ]);
  assert.equal(p.endedAtMs, 1714564830000);
  assert.equal(p.dropped, 0);
});

Deno.test("parseIndex() drops a line cut by a crash and entries that are not ours", () => {
  const good = encodeHeaderLine(HEADER) + encodeEntryLine(ENTRY);
  for (let cut = 1; cut < encodeEntryLine(ENTRY).length - 1; cut++) {
    const p = parseIndex(good + encodeEntryLine(ENTRY).slice(0, cut));
    assert.equal(p.entries.length, 1);
    assert.equal(p.dropped, 1);
  }
  const bad = [
    '{"n":"../etc/passwd","q":1,"t":0,"d":1,"m":0,"b":1}',
    '{"n":"a.ts","q":-1,"t":0,"d":1,"m":0,"b":1}',
    '{"n":"a.ts","q":1,"t":"x","d":1,"m":0,"b":1}',
    "[1,2]",
    "null",
    "x".repeat(5000),
  ].join("\n") + "\n";
  const p = parseIndex(good + bad);
  assert.equal(p.entries.length, 1);
  assert.equal(p.dropped, 6);
});

Deno.test("parseIndex() never throws on mutated indexes, and every entry it returns is well-formed (fuzz, seeded)", () => {
  const seed = new TextEncoder().encode(
    encodeHeaderLine(HEADER) + encodeEntryLine(ENTRY) +
      encodeEntryLine({ ...ENTRY, sequence: 13, discontinuity: true }) +
      encodeEndLine(1),
  );
  const next = createPrng(0x1d3);
  for (let i = 0; i < 3000; i++) {
    const bytes = mutate(next, seed);
    const text = new TextDecoder().decode(bytes);
    const p = parseIndex(text);
    for (const e of p.entries) {
      assert.match(e.name, SEGMENT_NAME_RE);
      assert.ok(Number.isSafeInteger(e.sequence) && e.sequence >= 0);
      assert.ok(Number.isSafeInteger(e.bytes) && e.bytes >= 0);
      assert.ok(Number.isFinite(e.programDateTimeMs));
    }
  }
});
