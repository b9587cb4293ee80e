/**
 * An origin killed with SIGKILL and started again on the same data directory: the republished
 * stream's playlist goes on numbering (EXT-X-MEDIA-SEQUENCE never goes back, RFC 8216 §6.2.1),
 * the join is an EXT-X-DISCONTINUITY and EXT-X-DISCONTINUITY-SEQUENCE goes on from the count
 * the killed process reached. The origin runs as a user runs it: `deno run -A main.ts`.
 */
import assert from "node:assert/strict";
import {
  type ParsedMediaPlaylist,
  parseMediaPlaylist,
} from "../../codec/hls/mod.ts";
import {
  type BackgroundPeer,
  hasBinary,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const haveFfmpeg = await hasBinary("ffmpeg");

/** A port that was free a moment ago (the child binds it next). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** `main.ts --roles origin` as a child; its output is drained and kept for failures. */
function startMain(configFile: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "--roles",
      "origin",
      "--config",
      configFile,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const drain = (s: ReadableStream<Uint8Array>) =>
    (async () => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) output += t;
    })();
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  return {
    get output() {
      return output;
    },
    async kill(): Promise<void> {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await drained;
    },
  };
}

async function playlistAt(
  url: string,
): Promise<ParsedMediaPlaylist | undefined> {
  const res = await fetch(url);
  const text = await res.text();
  return res.ok ? parseMediaPlaylist(text) : undefined;
}

const lastSequence = (p: ParsedMediaPlaylist) =>
  p.mediaSequence + p.segments.length - 1;
const flagged = (p: ParsedMediaPlaylist) =>
  p.segments.filter((s) => s.discontinuity).length;

Deno.test({
  name:
    "HLS restart: kill -9, restart on the same dataDir, republish: media sequence goes on, the join is a DISCONTINUITY, DISCONTINUITY-SEQUENCE goes on",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-hls-restart-" });
    const rtmpPort = freePort();
    const httpPort = freePort();
    const configFile = `${dir}/meridian.yaml`;
    await Deno.writeTextFile(
      configFile,
      [
        `dataDir: ${dir}/data`,
        "log: { level: warn, format: json }",
        `origin: { rtmpPort: ${rtmpPort}, httpPort: ${httpPort}, virtualLive: [],`,
        "  hls: { targetDurationSeconds: 1, windowSegments: 2 } }",
        "",
      ].join("\n"),
    );
    const url = `http://127.0.0.1:${httpPort}/live/cam.m3u8`;
    const rtmp = `rtmp://127.0.0.1:${rtmpPort}/live/cam`;
    const up = () =>
      waitFor("the origin to answer", async () => {
        const r = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
        await r.body?.cancel();
        return r.ok || undefined;
      }, 30_000);
    let origin = startMain(configFile);
    let pub: BackgroundPeer | undefined;
    try {
      await up();
      // First run: a publish, a republish (a discontinuity), until that discontinuity has
      // left the window too, so the killed process's count is above 0.
      const first = await runPeer("ffmpeg", publishArgs(rtmp, 3, { gop: 25 }));
      assert.equal(first.code, 0, first.stderr);
      pub = startPeer("ffmpeg", publishArgs(rtmp, 60, { gop: 25 }));
      const before = await waitFor(
        "the republish's discontinuity to leave",
        async () => {
          const p = await playlistAt(url);
          return p && p.discontinuitySequence === 1 && flagged(p) === 0
            ? p
            : undefined;
        },
        20_000,
        50,
      );
      // The last playlist any client saw, then kill -9: nothing runs at shutdown.
      const seen = (await playlistAt(url)) ?? before;
      await origin.kill();
      await pub.stop();
      pub = undefined;

      origin = startMain(configFile);
      await up();
      pub = startPeer("ffmpeg", publishArgs(rtmp, 60, { gop: 25 }));
      const after = await waitFor(
        "the playlist after the restart",
        () => playlistAt(url),
        20_000,
        50,
      );
      assert.ok(
        after.mediaSequence > lastSequence(seen),
        `EXT-X-MEDIA-SEQUENCE ${after.mediaSequence} after the restart; ${
          lastSequence(seen)
        } was seen before it`,
      );
      assert.equal(after.segments[0]!.discontinuity, true, "the join");
      // Every discontinuity of the first run has left: the count goes on from there.
      assert.equal(
        after.discontinuitySequence,
        seen.discontinuitySequence + flagged(seen),
      );
      assert.ok(
        !after.segments.some((s) => seen.segments.some((o) => o.uri === s.uri)),
        "segment names are never reused",
      );
      // And it advances consistently when the join leaves the window.
      const later = await waitFor(
        "the join to leave the window",
        async () => {
          const p = await playlistAt(url);
          return p && p.mediaSequence > after.mediaSequence ? p : undefined;
        },
        20_000,
        50,
      );
      assert.equal(
        later.discontinuitySequence,
        after.discontinuitySequence + 1,
      );
      assert.ok(later.mediaSequence > after.mediaSequence);
    } catch (e) {
      throw new Error(
        `${e instanceof Error ? e.stack : e}\norigin output: ${origin.output}`,
      );
    } finally {
      await pub?.stop();
      await origin.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
