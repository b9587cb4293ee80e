import assert from "node:assert/strict";
import {
  parseSrtStreamId,
  SrtStreamIdError,
} from "../../../origin/srt/stream_id.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

Deno.test("parseSrtStreamId() reads the SRS, MediaMTX and plain forms", () => {
  const cases: [string, unknown][] = [
    ["#!::r=live/s1,m=publish", {
      mode: "publish",
      app: "live",
      stream: "s1",
      params: {},
    }],
    ["#!::r=live/s1,m=request", {
      mode: "play",
      app: "live",
      stream: "s1",
      params: {},
    }],
    ["#!::h=example.com,r=live/s1?key=k1,m=publish", {
      mode: "publish",
      app: "live",
      stream: "s1",
      params: { key: "k1" },
    }],
    ["#!::r=live/cam,m=publish,u=bob,s=pw", {
      mode: "publish",
      app: "live",
      stream: "cam",
      params: { key: "pw", token: "pw" },
    }],
    ["publish:live/s1", {
      mode: "publish",
      app: "live",
      stream: "s1",
      params: {},
    }],
    ["read:live/s1?token=t", {
      mode: "play",
      app: "live",
      stream: "s1",
      params: { token: "t" },
    }],
    ["live/s1", { mode: undefined, app: "live", stream: "s1", params: {} }],
    ["/live/s1", { mode: undefined, app: "live", stream: "s1", params: {} }],
  ];
  for (const [id, want] of cases) {
    assert.deepEqual(parseSrtStreamId(id), want, id);
  }
});

Deno.test("parseSrtStreamId() refuses what names no stream", () => {
  for (
    const id of [
      "",
      "#!::r=live,m=publish",
      "#!::m=publish",
      "#!::r=live/s,m=both",
      "a/b/c",
      "#!::junk",
      "x".repeat(600),
    ]
  ) {
    assert.throws(() => parseSrtStreamId(id), SrtStreamIdError, id);
  }
});

Deno.test("parseSrtStreamId() throws SrtStreamIdError or parses on mutated input", () => {
  const next = createPrng(46);
  const seed = new TextEncoder().encode("#!::r=live/s1?key=k,m=publish,s=x");
  const dec = new TextDecoder();
  for (let i = 0; i < 2000; i++) {
    try {
      const r = parseSrtStreamId(dec.decode(mutate(next, seed)));
      assert.ok(r.app.length > 0 && r.stream.length > 0);
    } catch (e) {
      assert.ok(e instanceof SrtStreamIdError, String(e));
    }
  }
});
