import assert from "node:assert/strict";
import {
  type MediaPlaylist,
  parseMediaPlaylist,
  PlaylistErrorCode,
  PlaylistFormatError,
  renderMediaPlaylist,
  targetDurationFor,
} from "../../../codec/hls/mod.ts";

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
  ];
  for (const [text, code] of cases) {
    assert.throws(
      () => parseMediaPlaylist(text),
      (e) => e instanceof PlaylistFormatError && e.code === code,
      text,
    );
  }
});
