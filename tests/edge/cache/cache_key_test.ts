import assert from "node:assert/strict";
import {
  cacheKey,
  createCacheKeyer,
  DEFAULT_IGNORED_QUERY_PARAMS,
} from "../../../edge/cache/cache_key.ts";

Deno.test("cacheKey() sorts the query, drops credentials and keeps LL-HLS parameters", () => {
  const key = createCacheKeyer(DEFAULT_IGNORED_QUERY_PARAMS);
  const cases: [string, string][] = [
    ["/live/a.m3u8", "/live/a.m3u8"],
    ["/live/a.m3u8?", "/live/a.m3u8"],
    ["/live/a.m3u8?token=ABCDEFGHIJKLMNOP", "/live/a.m3u8"],
    ["/live/a.m3u8?TOKEN=x&Sig=y&cred=z&exp=1&expires=2&key=k", "/live/a.m3u8"],
    [
      "/live/a.m3u8?_HLS_part=2&_HLS_msn=10&token=t",
      "/live/a.m3u8?_HLS_msn=10&_HLS_part=2",
    ],
    ["/vod/a.flv?start=30&b=1", "/vod/a.flv?b=1&start=30"],
    ["/x?a=2&a=1", "/x?a=1&a=2"],
    ["/x?q=a%20b", "/x?q=a+b"],
  ];
  for (const [input, want] of cases) {
    assert.equal(key(new URL(input, "http://e")), want, input);
  }
  assert.equal(
    cacheKey(new URL("http://e/x?token=1&a=1"), []),
    "/x?a=1&token=1",
  );
});
