import assert from "node:assert/strict";
import { fileBytes, FileMapError, mapFile } from "../../geo/file_map.ts";

Deno.test({
  name:
    "mapFile() maps a file's exact bytes read-only, and refuses empty and missing files",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const bytes = Uint8Array.from(
        { length: 70_000 },
        (_, i) => (i * 31) & 0xff,
      );
      await Deno.writeFile(`${dir}/f`, bytes);
      const m = mapFile(`${dir}/f`);
      assert.equal(m.how, "mmap");
      assert.deepEqual(m.bytes, bytes);
      m.close();
      m.close(); // idempotent
      const r = await fileBytes(`${dir}/f`, "read");
      assert.equal(r.how, "read");
      assert.deepEqual(r.bytes, bytes);
      await Deno.writeFile(`${dir}/empty`, new Uint8Array());
      assert.throws(() => mapFile(`${dir}/empty`), FileMapError);
      assert.throws(() => mapFile(`${dir}/missing`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
