import assert from "node:assert/strict";
import { checkRelPath, Library, VodError } from "../../../origin/vod/mod.ts";

Deno.test("checkRelPath() decodes names and refuses traversal, absolute, hidden, control and double-encoded paths", () => {
  assert.equal(checkRelPath("movies/a%20b.mp4"), "movies/a b.mp4");
  assert.equal(checkRelPath("%E7%94%B5%E5%BD%B1/%E7%89%87.flv"), "电影/片.flv");
  for (
    const bad of [
      "",
      "../a.mp4",
      "a/../../b.mp4",
      "%2e%2e/a.mp4",
      "%252e%252e/a.mp4",
      "a%5c..%5cb.mp4",
      "a%00.mp4",
      "/etc/passwd",
      "a//b.mp4",
      ".git/config",
      "a/./b.mp4",
      "%E0%A4%A",
      "x".repeat(2000),
    ]
  ) {
    assert.throws(
      () => checkRelPath(bad),
      (e) => e instanceof VodError && e.status === 400,
      bad,
    );
  }
});

Deno.test("Library.stat() refuses symlinks that leave the library, lists nested media only", async () => {
  const root = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/a/b`, { recursive: true });
    await Deno.writeFile(`${root}/a/b/c.mp4`, new Uint8Array(10));
    await Deno.writeFile(`${root}/notes.txt`, new Uint8Array(3));
    await Deno.writeFile(`${root}/.hidden.mp4`, new Uint8Array(3));
    await Deno.writeFile(`${outside}/x.mp4`, new Uint8Array(3));
    await Deno.symlink(`${outside}/x.mp4`, `${root}/link.mp4`);
    await Deno.symlink(`${root}/a/b/c.mp4`, `${root}/inside.mp4`);
    const lib = new Library({ path: root, prefix: "/vod/" });
    assert.equal(await lib.stat("link.mp4"), undefined);
    assert.equal((await lib.stat("inside.mp4"))?.size, 10);
    assert.deepEqual((await lib.list()).map((f) => f.relPath), [
      "a/b/c.mp4",
      "inside.mp4",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});
