import assert from "node:assert/strict";
import {
  type MasterPlaylist,
  parseAttributeList,
  parseMasterPlaylist,
  PlaylistFormatError,
  renderMasterPlaylist,
} from "../../../codec/hls/mod.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

const TEXT = `#EXTM3U
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=2200000,AVERAGE-BANDWIDTH=2000000,RESOLUTION=1280x720,FRAME-RATE=29.970,CODECS="avc1.64001f,mp4a.40.2"
cam/cam.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=426x240,FRAME-RATE=15.000,CODECS="avc1.42c015,mp4a.40.2"
cam/cam_240p.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=70000,AVERAGE-BANDWIDTH=66000,CODECS="mp4a.40.2"
cam/cam_audio.m3u8
`;

const PLAYLIST: MasterPlaylist = {
  independentSegments: true,
  variants: [
    {
      uri: "cam/cam.m3u8",
      bandwidth: 2_200_000,
      averageBandwidth: 2_000_000,
      resolution: { width: 1280, height: 720 },
      frameRate: 29.97,
      codecs: ["avc1.64001f", "mp4a.40.2"],
    },
    {
      uri: "cam/cam_240p.m3u8",
      bandwidth: 500_000,
      averageBandwidth: undefined,
      resolution: { width: 426, height: 240 },
      frameRate: 15,
      codecs: ["avc1.42c015", "mp4a.40.2"],
    },
    {
      uri: "cam/cam_audio.m3u8",
      bandwidth: 70_000,
      averageBandwidth: 66_000,
      resolution: undefined,
      frameRate: undefined,
      codecs: ["mp4a.40.2"],
    },
  ],
};

Deno.test("renderMasterPlaylist() and parseMasterPlaylist() round-trip a fixture", () => {
  assert.equal(renderMasterPlaylist(PLAYLIST), TEXT);
  assert.deepEqual(parseMasterPlaylist(TEXT), PLAYLIST);
});

Deno.test("parseMasterPlaylist() reads what other packagers write (ffmpeg's hlsenc)", () => {
  const ffmpeg = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=140800,RESOLUTION=320x180,CODECS="avc1.64000d,mp4a.40.2"
v0/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=52800,RESOLUTION=160x90,CODECS="avc1.64000b,mp4a.40.2"
v1/index.m3u8
`;
  const p = parseMasterPlaylist(ffmpeg);
  assert.equal(p.independentSegments, false);
  assert.deepEqual(
    p.variants.map((v) => [v.uri, v.bandwidth, v.resolution?.height]),
    [
      ["v0/index.m3u8", 140800, 180],
      ["v1/index.m3u8", 52800, 90],
    ],
  );
});

Deno.test("parseAttributeList() keeps commas inside quoted strings and refuses bad lists", () => {
  assert.deepEqual(
    [...parseAttributeList('A=1,CODECS="x,y",B=0x1F').entries()],
    [["A", "1"], ["CODECS", '"x,y"'], ["B", "0x1F"]],
  );
  for (const bad of ["A", "a=1", 'A="x', 'A="x"y', "A=1,A=2", "=1"]) {
    assert.throws(() => parseAttributeList(bad), PlaylistFormatError, bad);
  }
});

Deno.test("renderMasterPlaylist() refuses out-of-range values, naming the variant", () => {
  const v = PLAYLIST.variants[0]!;
  const cases: [Partial<typeof v>, RegExp][] = [
    [
      { bandwidth: 0 },
      /BANDWIDTH must be a positive integer, got 0 for cam\/cam\.m3u8/,
    ],
    [{ bandwidth: 1.5 }, /BANDWIDTH/],
    [{ averageBandwidth: -1 }, /AVERAGE-BANDWIDTH/],
    [
      { resolution: { width: 0, height: 720 } },
      /RESOLUTION must be 1\.\.16384 a side, got 0x720/,
    ],
    [{ frameRate: NaN }, /FRAME-RATE/],
    [{ codecs: [] }, /CODECS/],
    [{ codecs: ['a"b'] }, /CODECS/],
    [{ uri: "#x" }, /URI must be one line/],
    [{ uri: "a\nb" }, /URI/],
  ];
  for (const [change, re] of cases) {
    assert.throws(
      () =>
        renderMasterPlaylist({
          independentSegments: false,
          variants: [{ ...v, ...change }],
        }),
      (e: unknown) =>
        e instanceof PlaylistFormatError && e.code === "HLS_BAD_VALUE" &&
        re.test(e.message),
      String(re),
    );
  }
  assert.throws(
    () => renderMasterPlaylist({ independentSegments: false, variants: [] }),
    /at least one variant/,
  );
});

Deno.test("parseMasterPlaylist() refuses variants without BANDWIDTH or URI, and no variants", () => {
  assert.throws(
    () =>
      parseMasterPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:CODECS="x"\na.m3u8\n'),
    /needs BANDWIDTH/,
  );
  assert.throws(
    () => parseMasterPlaylist("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"),
    /no URI line/,
  );
  assert.throws(
    () => parseMasterPlaylist("#EXTM3U\n#EXTINF:2,\na.ts\n"),
    /no EXT-X-STREAM-INF/,
  );
  assert.throws(() => parseMasterPlaylist("x"), /first line must be #EXTM3U/);
  assert.throws(
    () =>
      parseMasterPlaylist(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=big\na\n",
      ),
    /RESOLUTION must be WIDTHxHEIGHT/,
  );
});

Deno.test("fuzz: parseMasterPlaylist() throws PlaylistFormatError or gives a playlist that renders and parses again", () => {
  const next = createPrng(8216);
  const seed = new TextEncoder().encode(TEXT);
  const dec = new TextDecoder();
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    let input: Uint8Array = seed;
    for (let k = 0; k <= i % 3; k++) input = mutate(next, input);
    let p: MasterPlaylist;
    try {
      p = parseMasterPlaylist(dec.decode(input));
    } catch (e) {
      assert.ok(e instanceof PlaylistFormatError, `${e}`);
      continue;
    }
    parsed++;
    let text: string;
    try {
      text = renderMasterPlaylist(p);
    } catch (e) {
      // A parsed value the renderer holds to stricter bounds (a zero BANDWIDTH, no CODECS).
      assert.ok(e instanceof PlaylistFormatError, `${e}`);
      continue;
    }
    assert.deepEqual(
      parseMasterPlaylist(text).variants.length,
      p.variants.length,
    );
  }
  assert.ok(parsed > 100, `only ${parsed} mutated playlists parsed`);
});
