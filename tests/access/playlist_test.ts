import assert from "node:assert/strict";
import { withSessionCredential } from "../../access/mod.ts";

Deno.test("withSessionCredential() appends or replaces cred on URI lines only", () => {
  const table: [string, string][] = [
    ["#EXTM3U\n#EXT-X-VERSION:3\n", "#EXTM3U\n#EXT-X-VERSION:3\n"],
    ["#EXTINF:2,\nd/a.ts\n", "#EXTINF:2,\nd/a.ts?cred=C\n"],
    ["d/a.ts?x=1\n", "d/a.ts?x=1&cred=C\n"],
    ["d/a.ts?cred=old\n", "d/a.ts?cred=C\n"],
    ["d/a.ts?x=1&cred=old&y=2\n", "d/a.ts?x=1&y=2&cred=C\n"],
    ["d/a.ts\r\n", "d/a.ts?cred=C\r\n"],
    ['#EXT-X-MAP:URI="init.mp4"\n', '#EXT-X-MAP:URI="init.mp4"\n'],
  ];
  for (const [input, want] of table) {
    assert.equal(withSessionCredential(input, "C"), want, input);
    // Idempotent: applying the same credential again changes nothing.
    assert.equal(withSessionCredential(want, "C"), want, want);
  }
});
