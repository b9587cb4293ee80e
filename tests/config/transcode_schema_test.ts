import assert from "node:assert/strict";
import { ConfigError, DEFAULT_LADDER, parseConfig } from "../../config/mod.ts";
import { TRANSCODE_DEFAULTS } from "../../config/transcode_schema.ts";

/** The message of the ConfigError `raw` gives, or a failure. */
function refusal(transcode: unknown): string {
  try {
    parseConfig({ origin: { transcode } });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail(`accepted ${JSON.stringify(transcode)}`);
}

Deno.test("origin.transcode: off by default, with a 1080p/720p/480p/360p + audio ladder defined", () => {
  const t = parseConfig({}).origin.transcode;
  assert.deepEqual(t.apps, []);
  assert.equal(t, TRANSCODE_DEFAULTS);
  assert.deepEqual(t.profiles.map((p) => [p.name, p.video, p.height]), [
    ["1080p", "libx264", 1080],
    ["720p", "libx264", 720],
    ["480p", "libx264", 480],
    ["360p", "libx264", 360],
    ["audio", "none", 0],
  ]);
  assert.equal(t.profiles, DEFAULT_LADDER);
});

Deno.test("origin.transcode: an app opts in; a profile needs only a name, a height and a rate", () => {
  const t = parseConfig({
    origin: {
      transcode: {
        apps: [{ name: "live", profiles: ["360p", "audio"] }, {
          name: "tv",
          start: "always",
        }],
        profiles: [
          ...DEFAULT_LADDER,
          {
            name: "240p",
            height: 240,
            videoKbps: 400,
            fps: 15,
            extraArgs: ["-profile:v", "baseline"],
          },
          {
            name: "nv720",
            video: "h264_nvenc",
            height: 720,
            videoKbps: 2500,
            preset: "p4",
          },
          { name: "passthrough", video: "copy", audio: "copy" },
        ],
      },
    },
  }).origin.transcode;
  assert.deepEqual(t.apps, [
    { name: "live", profiles: ["360p", "audio"], start: "on_demand" },
    { name: "tv", profiles: [], start: "always" },
  ]);
  const p240 = t.profiles.find((p) => p.name === "240p")!;
  assert.deepEqual(p240, {
    name: "240p",
    video: "libx264",
    width: 0,
    height: 240,
    fps: 15,
    videoKbps: 400,
    maxrateKbps: 0,
    bufsizeKbps: 0,
    preset: "veryfast",
    audio: "aac",
    audioKbps: 128,
    extraArgs: ["-profile:v", "baseline"],
  });
  assert.equal(t.profiles.find((p) => p.name === "nv720")!.video, "h264_nvenc");
});

Deno.test("origin.transcode: an unknown codec, a bad size or an impossible profile stop start-up naming the key", () => {
  const base = { name: "x", height: 360, videoKbps: 800 };
  const cases: [unknown, RegExp][] = [
    [
      { profiles: [{ ...base, video: "vp9" }] },
      /'origin\.transcode\.profiles\[0\]\.video': got "vp9", expected libx264, copy, none, or an H\.264 hardware encoder/,
    ],
    [{ profiles: [{ ...base, video: "libx265" }] }, /profiles\[0\]\.video/],
    [
      { profiles: [{ ...base, height: 361 }] },
      /'origin\.transcode\.profiles\[0\]\.height': got 361, expected 0 \(keep the aspect\) or an even number of pixels 16\.\.4320/,
    ],
    [
      { profiles: [{ ...base, width: 10000 }] },
      /profiles\[0\]\.width': got 10000/,
    ],
    [{ profiles: [{ ...base, height: -2 }] }, /profiles\[0\]\.height': got -2/],
    [{ profiles: [{ ...base, height: 8 }] }, /profiles\[0\]\.height': got 8/],
    [
      { profiles: [{ name: "x", height: 360 }] },
      /'origin\.transcode\.profiles\[0\]'.*a videoKbps above 0/,
    ],
    [
      { profiles: [{ name: "x", video: "copy", height: 360 }] },
      /video: copy with no width/,
    ],
    [
      { profiles: [{ name: "x", video: "none", audio: "none" }] },
      /cannot both be none/,
    ],
    [
      { profiles: [{ ...base, audio: "opus" }] },
      /profiles\[0\]\.audio': got "opus", expected one of aac, copy, none/,
    ],
    [{ profiles: [{ ...base, audioKbps: 0 }] }, /audioKbps above 0/],
    [
      { profiles: [{ ...base, maxrateKbps: 100 }] },
      /maxrateKbps of at least videoKbps \(800\)/,
    ],
    [
      { profiles: [{ ...base, name: "a_b" }] },
      /profiles\[0\]\.name': got "a_b"/,
    ],
    [{ profiles: [{ ...base, extraArgs: [""] }] }, /extraArgs\[0\]/],
    [
      { profiles: [{ ...base, extraArgs: "-bf 2" }] },
      /extraArgs': got "-bf 2", expected a list/,
    ],
    [
      { profiles: [{ ...base, sizeX: 1 }] },
      /profiles\[0\]\.sizeX': .*known keys/,
    ],
    [
      { profiles: [base, base] },
      /'origin\.transcode\.profiles\[1\]\.name': got "x", expected a profile name not used before/,
    ],
    [
      { apps: [{ name: "live", profiles: ["720p", "4k"] }] },
      /'origin\.transcode\.apps\[0\]\.profiles\[1\]': got "4k", expected a profile of origin\.transcode\.profiles \(1080p, 720p, 480p, 360p, audio\)/,
    ],
    [
      { apps: [{ name: "live" }, { name: "live" }] },
      /apps\[1\]\.name': got "live", expected an app listed once/,
    ],
    [
      { apps: [{ name: "live", start: "lazy" }] },
      /apps\[0\]\.start': got "lazy", expected one of on_demand, always/,
    ],
    [{ apps: [{ profiles: [] }] }, /apps\[0\]\.name/],
    [{ maxProcesses: 0 }, /maxProcesses': got 0/],
    [{ snapshotWidth: 0 }, /snapshotWidth': got 0/],
  ];
  for (const [transcode, re] of cases) {
    assert.match(refusal(transcode), re, JSON.stringify(transcode));
  }
});
