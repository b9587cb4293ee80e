/**
 * The archive across `kill -9`: the origin runs as a user runs it (`deno run -A main.ts`),
 * ffmpeg publishes (recorded as MP4 and FLV, split every 4 s), the origin is killed with
 * SIGKILL mid-publish and started again on the same data directory. The DVR window from before
 * the kill is intact (the same segments, playable); every recording made so far is listed and
 * plays from the library, the ones the kill cut repaired and finalized; a new publish
 * continues the window behind a discontinuity. The `onRecordDone` hook is down during the first
 * run: the deliveries it missed are resumed after the restart, so it hears of every file.
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
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { freePort, probedSeconds, startMain } from "./_archive.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const ADMIN = "restart-admin-token-0123456789";

interface ListedFile {
  format: string;
  path: string;
  url: string;
  duration: number;
  bytes: number;
  state: string;
}

async function recordings(
  http: string,
): Promise<{ active: { files: ListedFile[] }[]; files: ListedFile[] }> {
  const res = await fetch(`${http}/admin/recordings`, {
    headers: { Authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(res.status, 200);
  return await res.json();
}

async function playlist(url: string): Promise<ParsedMediaPlaylist> {
  const res = await fetch(url);
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${text}`);
  return parseMediaPlaylist(text);
}

/** The programme list's session entries. */
async function sessions(
  base: string,
): Promise<
  { session: string; startUnix: number; endUnix: number; live: boolean }[]
> {
  const res = await fetch(`${base}/programs`);
  if (!res.ok) {
    await res.body?.cancel();
    return [];
  }
  const body = await res.json();
  return body.programs.filter((p: { kind: string }) => p.kind === "session")
    .map((p: {
      session: string;
      recorded: { startUnix: number; endUnix: number };
      live: boolean;
    }) => ({
      session: p.session,
      startUnix: p.recorded.startUnix,
      endUnix: p.recorded.endUnix,
      live: p.live,
    }));
}

Deno.test({
  name:
    "archive restart: kill -9 mid-publish, restart: the DVR window before the kill is intact and plays, every recording so far (the cut ones repaired) plays from the library; a new publish continues the window behind a DISCONTINUITY",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-archive-restart-" });
    const rtmpPort = freePort();
    const httpPort = freePort();
    // The onRecordDone hook: 503 until the restart, then 204, recording what it took.
    let hookUp = false;
    const taken = new Set<string>();
    const hookServer = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        const body = await req.json();
        if (!hookUp) return new Response(null, { status: 503 });
        taken.add(body.path);
        return new Response(null, { status: 204 });
      },
    );
    const configFile = `${dir}/meridian.yaml`;
    await Deno.writeTextFile(
      configFile,
      [
        `dataDir: ${dir}/data`,
        "log: { level: warn, format: json }",
        `origin: { rtmpPort: ${rtmpPort}, httpPort: ${httpPort}, virtualLive: [],`,
        `  adminToken: ${ADMIN},`,
        `  hooks: { onRecordDone: "http://127.0.0.1:${hookServer.addr.port}/done" },`,
        `  vod: { libraries: [{ path: "${dir}/lib", prefix: /vod/ }] },`,
        "  record: { splitSeconds: 4 },",
        "  hls: { targetDurationSeconds: 1, windowSegments: 3, endGraceSeconds: 0 },",
        "  defaultApp: { dvr: { windowSeconds: 300 },",
        "    record: { enabled: true, formats: [mp4, flv] } } }",
        "",
      ].join("\n"),
    );
    const base = `http://127.0.0.1:${httpPort}/live/cam`;
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
      pub = startPeer("ffmpeg", publishArgs(rtmp, 60, { gop: 25 }));
      const [before] = await waitFor(
        "6 s kept",
        async () => {
          const s = await sessions(base);
          return s.length === 1 && s[0]!.endUnix - s[0]!.startUnix >= 6
            ? s
            : undefined;
        },
        30_000,
        100,
      );
      const rangeUrl = `${base}.m3u8?start=${before!.startUnix}&end=${
        before!.endUnix
      }`;
      const seen = await playlist(rangeUrl);
      // At least one split has finished a pair of files; another pair is being written.
      const http = `http://127.0.0.1:${httpPort}`;
      const recorded = await waitFor(
        "a finished recording pair",
        async () => {
          const r = await recordings(http);
          return r.files.length >= 2 && r.active.length === 1 ? r : undefined;
        },
        20_000,
        100,
      );
      assert.equal(
        recorded.active[0]!.files.filter((f) => f.state === "recording").length,
        2,
      );
      // kill -9 while ffmpeg is still publishing: nothing runs at shutdown.
      await origin.kill();
      await pub.stop();
      pub = undefined;

      hookUp = true;
      origin = startMain(configFile);
      await up();
      const after = await playlist(rangeUrl);
      assert.deepEqual(
        after.segments.map((
          s,
        ) => [s.uri, s.durationSeconds, s.programDateTimeMs]),
        seen.segments.map((
          s,
        ) => [s.uri, s.durationSeconds, s.programDateTimeMs]),
        "the same segments, times and durations after the restart",
      );
      const probed = await probedSeconds(rangeUrl);
      const listed = seen.segments.reduce((n, s) => n + s.durationSeconds, 0);
      assert.ok(
        Math.abs(probed - listed) <= 1,
        `ffprobe ${probed.toFixed(3)} s of ${listed.toFixed(3)} s kept`,
      );
      // Every recording made so far is listed and plays from the library; the cut ones were
      // repaired and finalized at start-up.
      const listed2 = await recordings(http);
      assert.equal(listed2.active.length, 0);
      const byState = (st: string) =>
        listed2.files.filter((f) => f.state === st);
      const all = JSON.stringify(listed2.files);
      assert.ok(byState("done").length >= 2, all);
      assert.equal(byState("recovered").length, 2, all);
      assert.equal(byState("failed").length, 0, all);
      for (const f of listed2.files) {
        const probedFile = await probedSeconds(`${http}${f.url}`);
        assert.ok(
          Math.abs(probedFile - f.duration) < 0.5,
          `${f.path}: ffprobe ${probedFile} s, listed ${f.duration} s`,
        );
        if (f.format === "mp4") {
          const head = new Uint8Array(
            await (await fetch(`${http}${f.url}`, {
              headers: { Range: "bytes=0-63" },
            })).arrayBuffer(),
          );
          const ftyp = new DataView(head.buffer).getUint32(0);
          const type = String.fromCharCode(
            ...head.subarray(ftyp + 4, ftyp + 8),
          );
          assert.equal(type, "moov", `${f.path} is faststart`);
        }
      }
      // The hook hears of every file: those done before the kill (their missed deliveries
      // resumed from the outbox) and those the restart recovered.
      await waitFor(
        "the hook to take every file",
        () => listed2.files.every((f) => taken.has(f.path)) || undefined,
        30_000,
        100,
      );
      // The kept session shows as ended (not live) after the crash.
      const recovered = await sessions(base);
      assert.equal(recovered.length, 1);
      assert.equal(recovered[0]!.live, false);

      // A new publish continues the window: two sessions, joined by a discontinuity.
      pub = startPeer("ffmpeg", publishArgs(rtmp, 60, { gop: 25 }));
      const both = await waitFor(
        "the second session's segments",
        async () => {
          const s = await sessions(base);
          return s.length === 2 && s[1]!.endUnix - s[1]!.startUnix >= 3
            ? s
            : undefined;
        },
        30_000,
        100,
      );
      const across = await playlist(
        `${base}.m3u8?start=${both[0]!.startUnix}&end=${both[1]!.endUnix}`,
      );
      const joins = across.segments.filter((s) => s.discontinuity);
      assert.equal(joins.length, 1, "one DISCONTINUITY, at the join");
      const at = across.segments.indexOf(joins[0]!);
      assert.equal(
        across.segments[at - 1]!.uri,
        seen.segments.at(-1)!.uri,
        "the join follows the last segment kept before the kill",
      );
      assert.ok(
        !across.segments.slice(at).some((s) =>
          seen.segments.some((o) => o.uri === s.uri)
        ),
        "segment names are never reused",
      );
    } catch (e) {
      throw new Error(
        `${e instanceof Error ? e.stack : e}\norigin output: ${origin.output}`,
      );
    } finally {
      await pub?.stop();
      await origin.kill();
      await hookServer.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
