import assert from "node:assert/strict";
import {
  MAX_PURGE_ENTRIES,
  parsePurgeRequest,
  PurgeRequestError,
} from "../../cluster/mod.ts";

Deno.test("parsePurgeRequest() keeps paths, reduces http(s) URLs to path and query, defaults the rest", () => {
  assert.deepEqual(
    parsePurgeRequest({
      urls: ["/live/a.m3u8", "HTTPS://cdn.example:8443/vod/b.mp4?t=1#frag"],
      streams: ["live/cam_1.hd"],
    }),
    {
      urls: ["/live/a.m3u8", "/vod/b.mp4?t=1"],
      prefixes: [],
      streams: ["live/cam_1.hd"],
      all: false,
    },
  );
  assert.deepEqual(parsePurgeRequest({ all: true }), {
    urls: [],
    prefixes: [],
    streams: [],
    all: true,
  });
});

Deno.test("parsePurgeRequest() names the bad field and value", () => {
  for (
    const [body, want] of [
      [null, /expected a JSON object/],
      [[], /expected a JSON object/],
      [{ all: false }, /nothing to purge/],
      [{ urls: [1] }, /'urls': expected a list of strings/],
      [{ urls: [""] }, /'urls': expected 1\.\.2048 characters, got 0/],
      [{ urls: ["ftp://x/a"] }, /'urls': .*got "ftp:\/\/x\/a"/],
      [{ urls: ["//host/a"] }, /'urls'/],
      [
        { prefixes: ["*"] },
        /'prefixes': expected a path starting with '\/', got "\*"/,
      ],
      [
        { streams: ["a/b/c"] },
        /'streams': expected app\/stream, got "a\/b\/c"/,
      ],
      [{ streams: ["a/.."] }, /'streams'/],
      [{ all: 1 }, /'all': got 1, expected a boolean/],
      [{ url: ["/a"] }, /unknown field "url"/],
      [
        { prefixes: Array.from({ length: MAX_PURGE_ENTRIES + 1 }, () => "/") },
        /at most 10000 entries, got 10001/,
      ],
    ] as const
  ) {
    assert.throws(
      () => parsePurgeRequest(body),
      (e) => e instanceof PurgeRequestError && want.test(e.message),
      JSON.stringify(body).slice(0, 60),
    );
  }
});
