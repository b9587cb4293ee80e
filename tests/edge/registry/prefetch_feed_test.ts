import assert from "node:assert/strict";
import { KvStore } from "../../../store/mod.ts";
import { withTempDir } from "../../store/_temp_store.ts";
import { waitFor } from "../../_helpers/peers.ts";
import {
  edgeConfig,
  startTestEdge,
  startTestOrigin,
} from "../_helpers/fixtures.ts";

Deno.test("startEdge() warms its cache from a prefetch published on the shared feed by another node", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const origin = startTestOrigin(() =>
      new Response("segment", { headers: { "cache-control": "max-age=600" } })
    );
    // Two handles on one file: the edge's, and the control role's of another process.
    const edgeStore = await KvStore.open(kvPath, { watch: false });
    const controlStore = await KvStore.open(kvPath, { watch: false });
    const edge = await startTestEdge(edgeConfig([origin.url]), {
      store: edgeStore,
    });
    try {
      await controlStore.publish({
        kind: "prefetch",
        urls: ["/vod/a.ts", "/vod/b.ts"],
      });
      await waitFor(
        "both objects fetched",
        () =>
          origin.count("/vod/a.ts") === 1 && origin.count("/vod/b.ts") === 1,
        3000,
      );
      const res = await fetch(`http://127.0.0.1:${edge.port}/vod/a.ts`);
      assert.equal(res.headers.get("x-cache"), "HIT");
      assert.equal(await res.text(), "segment");
      assert.equal(origin.count("/vod/a.ts"), 1);
    } finally {
      await edge.close();
      await controlStore.close();
      await edgeStore.close();
      await origin.close();
    }
  });
});
