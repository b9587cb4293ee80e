import assert from "node:assert/strict";
import {
  LL_PLAYLIST_VERSION,
  type LlMediaPlaylist,
  type LlPart,
  parseLlDirectives,
  PlaylistErrorCode,
  PlaylistFormatError,
  renderLlPlaylist,
  skippableSegments,
} from "../../../codec/hls/mod.ts";
import { mulberry32 } from "../../_helpers/prng.ts";

const part = (uri: string, independent = false, d = 0.32): LlPart => ({
  uri,
  durationSeconds: d,
  independent,
});

/** `n` complete segments of 2 s (six 0.32 s parts and a 0.08 s one), from msn 10. */
function playlist(
  n: number,
  extra: Partial<LlMediaPlaylist> = {},
): LlMediaPlaylist {
  const segments = Array.from({ length: n }, (_, i) => ({
    uri: `s${10 + i}.m4s`,
    durationSeconds: 2,
    programDateTimeMs: Date.UTC(2026, 0, 1, 0, 0, 2 * i),
    parts: [
      ...Array.from(
        { length: 6 },
        (_, k) => part(`s${10 + i}.${k}.m4s`, k === 0),
      ),
      part(`s${10 + i}.6.m4s`, false, 0.08),
    ],
  }));
  return {
    targetDurationSeconds: 2,
    partTargetSeconds: 0.333,
    mediaSequence: 10,
    discontinuitySequence: 0,
    mapUri: "init.mp4",
    segments,
    partial: [part(`s${10 + n}.0.m4s`, true), part(`s${10 + n}.1.m4s`)],
    partialProgramDateTimeMs: Date.UTC(2026, 0, 1, 0, 0, 2 * n),
    preloadHintUri: `s${10 + n}.2.m4s`,
    ended: false,
    ...extra,
  };
}

Deno.test("renderLlPlaylist() writes the LL header tags RFC 8216bis asks for", () => {
  const text = renderLlPlaylist(playlist(3));
  const lines = text.split("\n");
  assert.deepEqual(lines.slice(0, 8), [
    "#EXTM3U",
    `#EXT-X-VERSION:${LL_PLAYLIST_VERSION}`,
    "#EXT-X-TARGETDURATION:2",
    // PART-HOLD-BACK at least 3 part targets, CAN-SKIP-UNTIL at least 6 targets (§4.4.3.8).
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.999,CAN-SKIP-UNTIL=12.000",
    "#EXT-X-PART-INF:PART-TARGET=0.333",
    "#EXT-X-MEDIA-SEQUENCE:10",
    "#EXT-X-DISCONTINUITY-SEQUENCE:0",
    '#EXT-X-MAP:URI="init.mp4"',
  ]);
  assert.equal(lines.at(-1), "");
  assert.equal(lines.at(-2), '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s13.2.m4s"');
  assert.equal(lines.at(-3), '#EXT-X-PART:DURATION=0.320,URI="s13.1.m4s"');
  assert.equal(
    lines.at(-4),
    '#EXT-X-PART:DURATION=0.320,URI="s13.0.m4s",INDEPENDENT=YES',
  );
  assert.equal(
    lines.at(-5),
    "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:06.000Z",
  );
  // Each complete segment: its parts, then EXTINF and its URI.
  const i = lines.indexOf("s11.m4s");
  assert.equal(lines[i - 1], "#EXTINF:2.000,");
  assert.equal(lines[i - 2], '#EXT-X-PART:DURATION=0.080,URI="s11.6.m4s"');
  assert.equal(
    lines[i - 8],
    '#EXT-X-PART:DURATION=0.320,URI="s11.0.m4s",INDEPENDENT=YES',
  );
  assert.doesNotMatch(text, /#EXT-X-SKIP|#EXT-X-ENDLIST/);
});

Deno.test("renderLlPlaylist() lists parts only for the last three target durations of complete segments", () => {
  const text = renderLlPlaylist(playlist(8));
  // 3 × 2 s: the last three complete segments keep their parts, older ones are EXTINF only.
  for (let msn = 10; msn < 18; msn++) {
    assert.equal(
      text.includes(`URI="s${msn}.0.m4s"`),
      msn >= 15,
      `parts of ${msn}`,
    );
    assert.ok(text.includes(`\ns${msn}.m4s\n`), `segment ${msn}`);
  }
});

Deno.test("renderLlPlaylist() with skip writes EXT-X-SKIP for the segments before the Skip Boundary", () => {
  const p = playlist(10);
  // 20 s of complete segments + 0.64 s in progress; CAN-SKIP-UNTIL 12 s keeps the last 6.
  assert.equal(skippableSegments(p), 4);
  const text = renderLlPlaylist(p, { skip: true });
  assert.match(text, /\n#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n/);
  assert.doesNotMatch(text, /\ns1[0-3]\.m4s\n/);
  assert.match(text, /\ns14\.m4s\n/);
  // Media sequence stays the first segment's, skipped or not (§4.4.5.2).
  assert.match(text, /#EXT-X-MEDIA-SEQUENCE:10\n/);
  // A short playlist has nothing to skip: no tag at all.
  assert.doesNotMatch(renderLlPlaylist(playlist(3), { skip: true }), /SKIP:/);
});

Deno.test("renderLlPlaylist() ends with EXT-X-ENDLIST and no preload hint once ended", () => {
  const text = renderLlPlaylist(playlist(2, { partial: [], ended: true }));
  assert.match(text, /#EXT-X-ENDLIST\n$/);
  assert.doesNotMatch(text, /PRELOAD-HINT/);
});

Deno.test("renderLlPlaylist() refuses what it cannot write truthfully", () => {
  const bad = (p: LlMediaPlaylist) =>
    assert.throws(
      () => renderLlPlaylist(p),
      (e) =>
        e instanceof PlaylistFormatError &&
        e.code === PlaylistErrorCode.BadValue,
    );
  bad(playlist(1, { mediaSequence: -1 }));
  bad(playlist(1, { partTargetSeconds: 0 }));
  bad(playlist(1, { targetDurationSeconds: 1 })); // 2 s segments
});

Deno.test("parseLlDirectives() reads _HLS_msn, _HLS_part and _HLS_skip", () => {
  const p = (q: string) => parseLlDirectives(new URLSearchParams(q));
  assert.deepEqual(p(""), { msn: undefined, part: undefined, skip: false });
  assert.deepEqual(p("_HLS_msn=0"), { msn: 0, part: undefined, skip: false });
  assert.deepEqual(p("_HLS_msn=7&_HLS_part=0"), {
    msn: 7,
    part: 0,
    skip: false,
  });
  assert.deepEqual(p("_HLS_skip=v2&_HLS_msn=9"), {
    msn: 9,
    part: undefined,
    skip: true,
  });
  assert.deepEqual(p("other=1&cred=x"), {
    msn: undefined,
    part: undefined,
    skip: false,
  });
});

Deno.test("parseLlDirectives() rejects malformed directives with HLS_BAD_DIRECTIVE", () => {
  for (
    const q of [
      "_HLS_msn=",
      "_HLS_msn=-1",
      "_HLS_msn=1.5",
      "_HLS_msn=1e3",
      "_HLS_msn=+3",
      "_HLS_msn=%201",
      "_HLS_msn=0x10",
      "_HLS_msn=99999999999999999999",
      "_HLS_msn=1&_HLS_msn=2",
      "_HLS_part=1",
      "_HLS_msn=1&_HLS_part=a",
      "_HLS_skip=yes",
      "_HLS_skip=NO",
      "_HLS_skip=",
    ]
  ) {
    assert.throws(
      () => parseLlDirectives(new URLSearchParams(q)),
      (e) =>
        e instanceof PlaylistFormatError &&
        e.code === PlaylistErrorCode.BadDirective &&
        /^Invalid delivery directive _HLS_/.test(e.message),
      q,
    );
  }
});

Deno.test("parseLlDirectives() on random and mutated queries either throws its error or returns in-range values", () => {
  const rng = mulberry32(18);
  const alphabet = "_HLSmsnpartkip=&0123456789-+.YESv2%x ";
  const seeds = [
    "_HLS_msn=12&_HLS_part=3",
    "_HLS_msn=4&_HLS_skip=YES",
    "_HLS_skip=v2",
  ];
  for (let i = 0; i < 3000; i++) {
    let q: string;
    if (i % 2 === 0) {
      const n = Math.floor(rng() * 40);
      q = Array.from(
        { length: n },
        () => alphabet[Math.floor(rng() * alphabet.length)],
      ).join("");
    } else {
      const chars = [...seeds[i % seeds.length]!];
      const flips = 1 + Math.floor(rng() * 3);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(rng() * chars.length);
        chars[at] = alphabet[Math.floor(rng() * alphabet.length)]!;
      }
      q = chars.join("");
    }
    let d;
    try {
      d = parseLlDirectives(new URLSearchParams(q));
    } catch (e) {
      assert.ok(e instanceof PlaylistFormatError, `${q}: ${e}`);
      assert.equal(e.code, PlaylistErrorCode.BadDirective);
      continue;
    }
    for (const v of [d.msn, d.part]) {
      if (v === undefined) continue;
      assert.ok(Number.isSafeInteger(v) && v >= 0, `${q}: ${v}`);
    }
    if (d.part !== undefined) assert.notEqual(d.msn, undefined, q);
  }
});
