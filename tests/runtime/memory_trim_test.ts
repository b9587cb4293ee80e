import assert from "node:assert/strict";
import { startMemoryTrim } from "../../runtime/memory_trim.ts";

Deno.test("startMemoryTrim() trims glibc's heap on Linux and stops cleanly", async () => {
  const trim = startMemoryTrim(20);
  if (Deno.build.os !== "linux") {
    assert.equal(trim, undefined);
    return;
  }
  assert.ok(trim, "glibc and FFI are there on the CI machine");
  // Freed Rust-side memory to give back: a few MiB of request bodies, then dropped.
  for (let i = 0; i < 32; i++) {
    await new Response(new Uint8Array(256 * 1024)).arrayBuffer();
  }
  assert.equal(typeof trim.trimNow(), "boolean");
  await new Promise((r) => setTimeout(r, 60)); // the interval ran a few times meanwhile
  trim.stop();
  trim.stop(); // a second stop does nothing
  assert.equal(trim.trimNow(), false, "stopped");
});
