import assert from "node:assert/strict";
import {
  type MediaPlaylist,
  parseMediaPlaylist,
  PlaylistErrorCode,
  PlaylistFormatError,
  renderMediaPlaylist,
  targetDurationFor,
} from "../../../codec/hls/mod.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

const TEXT = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:41
#EXT-X-DISCONTINUITY-SEQUENCE:2
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:00:00.000Z
#EXTINF:2.000,
live/a41.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:00:05.123Z
#EXTINF:1.960,
live/a42.ts
#EXT-X-ENDLIST
`;

const PLAYLIST: MediaPlaylist = {
  targetDurationSeconds: 2,
  mediaSequence: 41,
  discontinuitySequence: 2,
  ended: true,
  segments: [
    {
      uri: "live/a41.ts",
      durationSeconds: 2,
      programDateTimeMs: Date.UTC(2026, 10, 25, 10, 0, 0),
      discontinuity: false,
    },
    {
      uri: "live/a42.ts",
      durationSeconds: 1.96,
      programDateTimeMs: Date.UTC(2026, 10, 25, 10, 0, 5, 123),
      discontinuity: true,
    },
  ],
};

Deno.test("renderMediaPlaylist() writes the literal playlist", () => {
  assert.equal(renderMediaPlaylist(PLAYLIST), TEXT);
  assert.equal(
    renderMediaPlaylist({ ...PLAYLIST, targetDurationSeconds: undefined }),
    TEXT,
  );
});

Deno.test("parseMediaPlaylist() reads the literal playlist", () => {
  assert.deepEqual(parseMediaPlaylist(TEXT), { ...PLAYLIST, version: 3 });
});

Deno.test("renderMediaPlaylist() and parseMediaPlaylist() carry EXT-X-PLAYLIST-TYPE (EVENT, VOD) both ways", () => {
  for (const playlistType of ["EVENT", "VOD"] as const) {
    const text = renderMediaPlaylist({ ...PLAYLIST, playlistType });
    assert.equal(
      text,
      TEXT.replace(
        "#EXT-X-DISCONTINUITY-SEQUENCE:2\n",
        `#EXT-X-DISCONTINUITY-SEQUENCE:2\n#EXT-X-PLAYLIST-TYPE:${playlistType}\n`,
      ),
    );
    assert.deepEqual(parseMediaPlaylist(text), {
      ...PLAYLIST,
      playlistType,
      version: 3,
    });
  }
  assert.throws(
    () =>
      parseMediaPlaylist(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:LIVE\n",
      ),
    (e) =>
      e instanceof PlaylistFormatError && e.code === PlaylistErrorCode.BadTag,
  );
});

Deno.test("targetDurationFor() rounds up, ignoring millisecond overshoot", () => {
  assert.deepEqual(
    [0, 0.5, 1, 2, 2.002, 2.1, 2.101, 5.9].map(targetDurationFor),
    [1, 1, 1, 2, 2, 2, 3, 6],
  );
});

Deno.test("renderMediaPlaylist() rejects a target below a rounded EXTINF and negative numbers", () => {
  const bad: MediaPlaylist[] = [
    { ...PLAYLIST, targetDurationSeconds: 1 },
    { ...PLAYLIST, mediaSequence: -1 },
    { ...PLAYLIST, discontinuitySequence: 0.5 },
    { ...PLAYLIST, segments: [{ uri: "x.ts", durationSeconds: -1 }] },
  ];
  for (const p of bad) {
    assert.throws(
      () => renderMediaPlaylist(p),
      (e) =>
        e instanceof PlaylistFormatError &&
        e.code === PlaylistErrorCode.BadValue,
    );
  }
});

Deno.test("parseMediaPlaylist() rejects malformed playlists", () => {
  const cases: [string, string][] = [
    ["#EXT-X-VERSION:3\n", PlaylistErrorCode.MissingHeader],
    ["#EXTM3U\n#EXTINF:2,\na.ts\n", PlaylistErrorCode.MissingTag],
    ["#EXTM3U\n#EXT-X-TARGETDURATION:2\na.ts\n", PlaylistErrorCode.MissingTag],
    ["#EXTM3U\n#EXT-X-TARGETDURATION:two\n", PlaylistErrorCode.BadTag],
    [
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:abc,\na.ts\n",
      PlaylistErrorCode.BadTag,
    ],
    [
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n",
      PlaylistErrorCode.BadTag,
    ],
    // Found by the fuzz below: values that parsed but could not render again.
    [
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.6,\na.ts\n",
      PlaylistErrorCode.BadTag,
    ],
    [
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:99999999999999999999\n",
      PlaylistErrorCode.BadTag,
    ],
  ];
  for (const [text, code] of cases) {
    assert.throws(
      () => parseMediaPlaylist(text),
      (e) => e instanceof PlaylistFormatError && e.code === code,
      text,
    );
  }
});

Deno.test("renderMediaPlaylist() writes no EXT-X-PROGRAM-DATE-TIME for a parsed segment without one", () => {
  // Found by the fuzz: parse gives NaN for "not known", which render threw a RangeError on.
  const p = parseMediaPlaylist(
    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\na.ts\n",
  );
  assert.ok(Number.isNaN(p.segments[0]!.programDateTimeMs));
  assert.doesNotMatch(renderMediaPlaylist(p), /PROGRAM-DATE-TIME/);
  assert.throws(
    () =>
      renderMediaPlaylist({
        ...p,
        segments: [{ ...p.segments[0]!, programDateTimeMs: Infinity }],
      }),
    (e) =>
      e instanceof PlaylistFormatError && e.code === PlaylistErrorCode.BadValue,
  );
});

/** One mutation of a playlist's lines: dropped, doubled, swapped, or a digit changed. */
function mutateLines(next: () => number, text: string): string {
  const lines = text.split("\n");
  const at = next() % lines.length;
  switch (next() % 4) {
    case 0:
      lines.splice(at, 1);
      break;
    case 1:
      lines.splice(at, 0, lines[at]!);
      break;
    case 2: {
      const other = next() % lines.length;
      [lines[at], lines[other]] = [lines[other]!, lines[at]!];
      break;
    }
    default: {
      const line = lines[at]!;
      const digits = [...line.matchAll(/\d/g)].map((m) => m.index!);
      if (digits.length === 0) break;
      const d = digits[next() % digits.length]!;
      const by = ["0", "9", "99999999999999999999", "-", ".", "e9", ""][
        next() % 7
      ]!;
      lines[at] = line.slice(0, d) + by + line.slice(d + 1);
    }
  }
  return lines.join("\n");
}

Deno.test("parseMediaPlaylist() fuzz: PlaylistFormatError, or a playlist that renders and parses again", () => {
  const next = createPrng(0x4d3f);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const seeds = [TEXT, renderMediaPlaylist({ ...PLAYLIST, ended: false })];
  const inputs: string[] = [];
  for (let i = 0; i < 1500; i++) {
    let t = seeds[next() % seeds.length]!;
    for (let k = 1 + (next() % 3); k > 0; k--) t = mutateLines(next, t);
    inputs.push(t);
  }
  for (let i = 0; i < 1500; i++) {
    const seed = encoder.encode(seeds[next() % seeds.length]!);
    inputs.push(decoder.decode(mutate(next, seed)));
  }
  let parsed = 0;
  for (const input of inputs) {
    let p;
    try {
      p = parseMediaPlaylist(input);
    } catch (e) {
      assert.ok(
        e instanceof PlaylistFormatError,
        `${e} for ${JSON.stringify(input)}`,
      );
      continue;
    }
    parsed++;
    const text = renderMediaPlaylist(p);
    const again = parseMediaPlaylist(text);
    assert.equal(again.targetDurationSeconds, p.targetDurationSeconds);
    assert.equal(again.mediaSequence, p.mediaSequence);
    assert.equal(again.discontinuitySequence, p.discontinuitySequence);
    assert.equal(again.ended, p.ended);
    assert.deepEqual(
      again.segments.map((s) => [s.uri, s.discontinuity, s.programDateTimeMs]),
      p.segments.map((s) => [s.uri, s.discontinuity, s.programDateTimeMs]),
      JSON.stringify(input),
    );
  }
  assert.ok(
    parsed > 500,
    `only ${parsed} inputs parsed: the fuzz is too blunt`,
  );
});
