import assert from "node:assert/strict";
import {
  LlHlsStream,
  type LlHlsStreamOptions,
  type MadePart,
  parseFileName,
  partName,
  segmentName,
} from "../../../origin/llhls/mod.ts";
import { synthStream } from "../../_helpers/synth_flv.ts";
import { hasBinary, runPeer } from "../../_helpers/peers.ts";

const haveFfprobe = await hasBinary("ffprobe");

function stream(
  extra: Partial<LlHlsStreamOptions> = {},
): { s: LlHlsStream; made: MadePart[] } {
  const made: MadePart[] = [];
  let clock = 1_700_000_000_000;
  const s = new LlHlsStream({
    targetDurationMs: 2000,
    keyframeTolerance: 0.1,
    partTargetMs: 333,
    windowSegments: 3,
    epoch: "t1",
    now: () => clock += 10,
    onPart: (p) => made.push(p),
    ...extra,
  });
  return { s, made };
}

Deno.test("LlHlsStream cuts parts within the part target and segments at keyframes, each segment's first part independent", () => {
  const { s, made } = stream();
  for (const t of synthStream(9_000, 50)) s.onTag(t); // 25 fps, 2 s GOPs
  // Four 2 s segments done, the fifth in progress.
  assert.equal(s.position.msn, 4);
  assert.ok(made.length >= 4 * 7, `${made.length} parts`);
  for (const p of made) {
    assert.ok(p.durationSeconds <= 0.333, `${p.uri}: ${p.durationSeconds}`);
    assert.ok(p.durationSeconds > 0);
    assert.equal(p.independent, p.index === 0, p.uri);
    assert.equal(p.uri, partName("t1", p.msn, p.index));
  }
  for (let msn = 0; msn < 4; msn++) {
    const parts = made.filter((p) => p.msn === msn);
    const total = parts.reduce((n, p) => n + p.durationSeconds, 0);
    assert.ok(Math.abs(total - 2) < 0.001, `segment ${msn}: ${total} s`);
    // A whole segment is its parts, byte for byte.
    const seg = s.file(segmentName("t1", msn));
    if (msn >= 1) {
      assert.ok(seg);
      assert.equal(
        seg.byteLength,
        parts.reduce((n, p) => n + p.bytes.byteLength, 0),
      );
      assert.deepEqual(
        seg.subarray(0, parts[0]!.bytes.byteLength),
        parts[0]!.bytes,
      );
    }
  }
  const text = s.playlist()!;
  assert.match(text, /#EXT-X-MAP:URI="ll_t1_init\.mp4"/);
  // Window of 3: segments 1..3 listed, the one in progress as parts, then the hint.
  assert.match(text, /#EXT-X-MEDIA-SEQUENCE:1\n/);
  assert.doesNotMatch(text, /\nll_t1_0\.m4s\n/);
  assert.match(text, /\nll_t1_3\.m4s\n/);
  const pos = s.position;
  assert.match(
    text,
    new RegExp(
      `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="ll_t1_4_${pos.parts}\\.m4s"\\n$`,
    ),
  );
  assert.match(text, /#EXTINF:2\.000,\nll_t1_3\.m4s/);
  assert.ok(s.file("ll_t1_init.mp4"));
  assert.equal(s.file("ll_t2_init.mp4"), undefined, "another epoch");
});

Deno.test("LlHlsStream.has() and tooFar() answer blocking requests as RFC 8216bis §6.2.5.2 says", () => {
  const { s } = stream();
  for (const t of synthStream(4_500, 50)) s.onTag(t);
  const { msn, parts } = s.position; // segment 2 in progress
  assert.equal(msn, 2);
  assert.ok(parts >= 1);
  assert.equal(s.has(1, undefined), true, "a complete segment");
  assert.equal(
    s.has(1, 99),
    true,
    "any part of a complete segment: later media exists",
  );
  assert.equal(s.has(msn, parts - 1), true);
  assert.equal(s.has(msn, parts), false, "the next part");
  assert.equal(s.has(msn, undefined), false, "the segment in progress, whole");
  assert.equal(s.has(msn + 1, 0), false);
  assert.equal(s.tooFar(msn, parts + 3), false);
  assert.equal(s.tooFar(msn, parts + 4), true);
  assert.equal(s.tooFar(msn + 2, 0), false);
  assert.equal(s.tooFar(msn + 3, undefined), true);
  assert.equal(s.tooFar(msn + 1, 30), true);
  assert.deepEqual(s.expects(partName("t1", msn, parts)), {
    msn,
    part: parts,
  });
  assert.equal(s.expects(partName("t1", msn, parts - 1)), undefined, "exists");
  assert.equal(s.expects(partName("t9", msn, parts)), undefined, "other epoch");
  assert.equal(s.expects(partName("t1", msn + 5, 0)), undefined, "too far");
});

Deno.test("LlHlsStream at the publisher's end closes the last part and segment; EXT-X-ENDLIST only when marked", () => {
  const { s, made } = stream();
  for (const t of synthStream(3_000, 50)) s.onTag(t);
  const before = made.length;
  s.onEnd();
  assert.ok(made.length > before, "the pending samples became the last part");
  assert.equal(s.finished, true);
  let text = s.playlist()!;
  assert.doesNotMatch(text, /PRELOAD-HINT|ENDLIST/);
  assert.match(text, /\nll_t1_1\.m4s\n$/);
  assert.equal(s.expects(partName("t1", 2, 0)), undefined);
  s.markEnded();
  text = s.playlist()!;
  assert.match(text, /#EXT-X-ENDLIST\n$/);
});

Deno.test("LlHlsStream continues numbering from firstMsn behind its discontinuity sequence", () => {
  const { s } = stream({ firstMsn: 41, discontinuitySequence: 2 });
  for (const t of synthStream(2_500, 50)) s.onTag(t);
  const text = s.playlist()!;
  assert.match(
    text,
    /#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-DISCONTINUITY-SEQUENCE:2\n/,
  );
  assert.match(text, /\nll_t1_41\.m4s\n/);
  assert.equal(s.nextMsn, 43);
});

Deno.test("parseFileName() reads only the names the stream writes", () => {
  assert.deepEqual(parseFileName("ll_ab12_init.mp4"), {
    kind: "init",
    epoch: "ab12",
  });
  assert.deepEqual(parseFileName("ll_ab12_7.m4s"), {
    kind: "segment",
    epoch: "ab12",
    msn: 7,
  });
  for (
    const bad of [
      "ll_AB_1.m4s",
      "ll_ab_1_2_3.m4s",
      "ll_ab_-1.m4s",
      "ll_ab_1.ts",
      "ll__1.m4s",
      "ll_ab_1234567890123456.m4s",
      "xll_ab_1.m4s",
      "ll_ab_init.m4s",
    ]
  ) assert.equal(parseFileName(bad), undefined, bad);
});

Deno.test({
  name:
    "LlHlsStream init segment plus one segment plays in ffprobe: 50 frames, 2 s",
  ignore: !haveFfprobe,
  async fn() {
    const { s } = stream();
    for (const t of synthStream(4_500, 50)) s.onTag(t);
    const init = s.file("ll_t1_init.mp4")!;
    const seg = s.file("ll_t1_1.m4s")!;
    const file = new Uint8Array(init.byteLength + seg.byteLength);
    file.set(init);
    file.set(seg, init.byteLength);
    const path = await Deno.makeTempFile({ suffix: ".mp4" });
    try {
      await Deno.writeFile(path, file);
      const out = await runPeer("ffprobe", [
        "-v",
        "error",
        "-count_packets",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=codec_name,nb_read_packets",
        "-of",
        "json",
        path,
      ]);
      const info = JSON.parse(out.stdout).streams[0];
      assert.equal(info.codec_name, "h264");
      assert.equal(Number(info.nb_read_packets), 50);
    } finally {
      await Deno.remove(path);
    }
  },
});
