/**
 * HTTP hooks end to end: a tiny Deno.serve on port 0 answers on_publish / on_play (allow,
 * deny, or too slow), and is told on_stop / on_unpublish; ffmpeg and ffprobe are the clients.
 */
import assert from "node:assert/strict";
import {
  hasBinary,
  probeStreams,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { withAccessOrigin } from "../origin/auth/_fixture.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

interface HookBody {
  action: string;
  app: string;
  stream: string;
  ip: string;
  protocol: string;
  params: Record<string, string>;
}

/**
 * A hook target: denies streams named `deny*` and plays with `?who=bad`; answers after 2 s for
 * `slow*` streams and `?who=slow`; allows everything else.
 */
async function withHooks(
  fn: (url: string, bodies: HookBody[]) => Promise<void>,
): Promise<void> {
  const bodies: HookBody[] = [];
  const waiting = new Set<() => void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const b = await req.json() as HookBody;
      bodies.push(b);
      if (b.stream.startsWith("slow") || b.params.who === "slow") {
        await new Promise<void>((r) => {
          const t = setTimeout(r, 2000);
          waiting.add(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      const deny = b.stream.startsWith("deny") || b.params.who === "bad";
      return new Response(deny ? "no" : "ok", { status: deny ? 403 : 200 });
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/hook`, bodies);
  } finally {
    for (const release of waiting) release();
    await server.shutdown();
  }
}

function hooksConfig(url: string, onFailure: "deny" | "allow") {
  return {
    onPublish: url,
    onPlay: url,
    onStop: url,
    onUnpublish: url,
    timeoutMs: 300,
    onFailure,
  };
}

Deno.test({
  name:
    "access: on_publish/on_play allow and deny; a timeout denies under onFailure deny; on_stop and on_unpublish are told",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withHooks(async (url, bodies) => {
      await withAccessOrigin({
        origin: {
          hooks: hooksConfig(url, "deny"),
          defaultApp: { publishKeys: ["pk-secret-1"] },
        },
      }, async (f) => {
        const denied = await runPeer(
          "ffmpeg",
          publishArgs(`${f.rtmp}/live/deny1?key=pk-secret-1`, 3, {
            realtime: false,
          }),
          20_000,
        );
        assert.notEqual(denied.code, 0);
        assert.match(denied.stderr, /Denied by the on_publish hook/);
        const slow = await runPeer(
          "ffmpeg",
          publishArgs(`${f.rtmp}/live/slow1?key=pk-secret-1`, 3, {
            realtime: false,
          }),
          20_000,
        );
        assert.notEqual(slow.code, 0);
        assert.match(
          slow.stderr,
          /on_publish hook failed \(no answer in 300 ms\)/,
        );

        const pub = startPeer(
          "ffmpeg",
          publishArgs(`${f.rtmp}/live/ok?key=pk-secret-1&lang=en`, 30),
        );
        try {
          await waitFor(
            "live/ok publishing",
            () => f.origin.registry.get("live", "ok")?.live || undefined,
            15_000,
          );
          const onPublish = bodies.find((b) =>
            b.action === "on_publish" && b.stream === "ok"
          )!;
          assert.deepEqual(onPublish, {
            action: "on_publish",
            app: "live",
            stream: "ok",
            ip: "127.0.0.1",
            protocol: "rtmp",
            params: { lang: "en" },
          });

          // on_play: allowed, denied (403), too slow (503) over HTTP-FLV; RTMP too.
          assert.deepEqual(
            (await probeStreams(`${f.http}/live/ok.flv?who=good`)).length,
            2,
          );
          for (const [who, code] of [["bad", 403], ["slow", 503]] as const) {
            const res = await fetch(`${f.http}/live/ok.flv?who=${who}`);
            await res.body?.cancel();
            assert.equal(res.status, code, who);
          }
          const rtmpDenied = await runPeer("ffprobe", [
            "-v",
            "error",
            `${f.rtmp}/live/ok?who=bad`,
          ], 20_000);
          assert.match(rtmpDenied.stderr, /Denied by the on_play hook/);
          assert.equal(
            (await probeStreams(`${f.rtmp}/live/ok?who=good`)).length,
            2,
          );
          // HLS with an on_play hook: the session opens once (302), reloads do not ask again.
          await waitFor("playlist", async () => {
            const r = await fetch(`${f.http}/live/ok.m3u8?who=good`, {
              redirect: "manual",
            });
            await r.body?.cancel();
            return r.status === 302 || undefined;
          }, 15_000);
          const plays = bodies.filter((b) => b.action === "on_play").length;
          assert.equal(
            (await probeStreams(`${f.http}/live/ok.m3u8?who=good`)).length,
            2,
          );
          assert.equal(
            bodies.filter((b) => b.action === "on_play").length,
            plays + 1,
          );
          await waitFor(
            "on_stop",
            () =>
              bodies.filter((b) => b.action === "on_stop").length >= 2 ||
              undefined,
            5000,
          );
        } finally {
          await pub.stop();
        }
        await waitFor(
          "on_unpublish",
          () =>
            bodies.some((b) =>
              b.action === "on_unpublish" && b.stream === "ok"
            ) || undefined,
          5000,
        );
        const posted = JSON.stringify(bodies);
        assert.ok(!posted.includes("pk-secret-1"), "key sent to a hook");
        assert.ok(!f.logs.join("\n").includes("pk-secret-1"));
      });
    });
  },
});

Deno.test({
  name: "access: with onFailure allow a hook timeout lets the publish through",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withHooks(async (url, bodies) => {
      await withAccessOrigin({
        origin: { hooks: hooksConfig(url, "allow") },
      }, async (f) => {
        const pub = startPeer(
          "ffmpeg",
          publishArgs(`${f.rtmp}/live/slow2`, 20),
        );
        try {
          await waitFor(
            "live/slow2 publishing",
            () => f.origin.registry.get("live", "slow2")?.live || undefined,
            15_000,
          );
          assert.ok(bodies.some((b) => b.action === "on_publish"));
          assert.match(
            f.logs.join("\n"),
            /"msg":"hook failed".*"policy":"allow"/,
          );
        } finally {
          await pub.stop();
        }
      });
    });
  },
});
