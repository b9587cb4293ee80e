/**
 * Time-shift under access control, end to end: a token app with DVR (the demo channel plays
 * into it); its time-shift playlist follows exactly the live playlist's flow (a token use
 * opens one session: 302 to a credential URL that keeps the range, URIs carry the
 * credential, kept segments need it), and time-shift FLV needs a token like live FLV.
 */
import assert from "node:assert/strict";
import { parseMediaPlaylist } from "../../codec/hls/mod.ts";
import { waitFor } from "../_helpers/peers.ts";
import { withAccessOrigin } from "../origin/auth/_fixture.ts";

const demo = new URL("../../media/demo.flv", import.meta.url).pathname;

async function status(url: string): Promise<number> {
  const res = await fetch(url, { redirect: "manual" });
  await res.body?.cancel();
  return res.status;
}

Deno.test({
  name:
    "time-shift access: a token app's time-shift playlist and segments need the token's session, exactly as live; time-shift FLV needs a token",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withAccessOrigin({
      origin: {
        virtualLive: [{ app: "live", stream: "demo", file: demo }],
        apps: [{
          name: "live",
          access: "token",
          dvr: { enabled: true, windowSeconds: 300 },
        }],
        hls: { targetDurationSeconds: 1 },
      },
      dataDir: true,
    }, async (f) => {
      // Wait for a few kept segments (the programme list is open, like a guide).
      const range = await waitFor(
        "kept segments",
        async () => {
          const r = await fetch(`${f.http}/live/demo/programs`);
          if (!r.ok) return (await r.body?.cancel(), undefined);
          const s = (await r.json()).programs.find((p: { kind: string }) =>
            p.kind === "session"
          );
          return s && s.recorded.endUnix - s.recorded.startUnix >= 5
            ? s.recorded
            : undefined;
        },
        30_000,
        200,
      );
      const q = `start=${range.startUnix}&end=${range.startUnix + 4}`;
      assert.equal(await status(`${f.http}/live/demo.m3u8?${q}`), 401);
      assert.equal(
        await status(`${f.http}/live/demo.m3u8?${q}&token=AAAAAAAAAAAAAAAA`),
        403,
      );
      const token = await f.mint("&app=live&limit=1");
      const open = await fetch(`${f.http}/live/demo.m3u8?${q}&token=${token}`, {
        redirect: "manual",
      });
      assert.equal(open.status, 302);
      await open.body?.cancel();
      const location = new URL(open.headers.get("location")!, f.http);
      assert.equal(location.searchParams.get("start"), String(range.startUnix));
      assert.equal(
        location.searchParams.get("end"),
        String(range.startUnix + 4),
      );
      assert.equal(location.searchParams.has("token"), false);
      const cred = location.searchParams.get("cred")!;
      const res = await fetch(location);
      assert.equal(res.status, 200);
      assert.match(
        res.headers.get("cache-control")!,
        /^private, max-age=\d+, immutable$/,
      );
      const p = parseMediaPlaylist(await res.text());
      assert.equal(p.playlistType, "VOD");
      assert.ok(p.segments.length >= 2, `${p.segments.length} segments`);
      for (const s of p.segments) {
        assert.match(s.uri, /^demo\/[\w-]+\.ts\?cred=/);
        assert.equal(await status(`${f.http}/live/${s.uri}`), 200);
      }
      // Without the credential, or with another stream's: refused.
      const bare = p.segments[0]!.uri.split("?")[0];
      assert.equal(await status(`${f.http}/live/${bare}`), 401);
      // The token's one use is spent; a reload with the credential spends nothing.
      assert.equal(
        await status(`${f.http}/live/demo.m3u8?${q}&token=${token}`),
        403,
      );
      assert.equal(
        await status(`${f.http}/live/demo.m3u8?${q}&cred=${cred}`),
        200,
      );
      // Time-shift FLV: no token 401, a token 200 (then the body is cancelled).
      assert.equal(
        await status(`${f.http}/live/demo.flv?start=${range.startUnix}`),
        401,
      );
      const t2 = await f.mint("&app=live&limit=1");
      const flv = await fetch(
        `${f.http}/live/demo.flv?start=${range.startUnix}&token=${t2}`,
      );
      assert.equal(flv.status, 200);
      const reader = flv.body!.getReader();
      const first = await reader.read();
      assert.deepEqual([...first.value!.subarray(0, 3)], [0x46, 0x4c, 0x56]);
      await reader.cancel();
    });
  },
});
