/**
 * Live HTTP-FLV fan-out against real peers: FLV origins as child processes (so one can be
 * killed) and ffmpeg as the viewer.
 */
import assert from "node:assert/strict";
import { FlvReader, FlvTagType } from "../../../codec/flv/mod.ts";
import { createLogger } from "../../../log/mod.ts";
import { hasBinary, waitFor } from "../../_helpers/peers.ts";
import { freeTcpPort } from "../../_helpers/ports.ts";
import { edgeConfig, startTestEdge } from "../_helpers/fixtures.ts";
import { startTestOrigin as startMeridianOrigin } from "../../origin/relay/_origins.ts";
import { synthStream } from "../../_helpers/synth_flv.ts";

const FLV_FILE = new URL("../../../media/demo.flv", import.meta.url).pathname;
const ORIGIN_SCRIPT =
  new URL("../_helpers/flv_origin.ts", import.meta.url).pathname;

interface FlvOrigin {
  readonly url: string;
  stats(): Promise<{ total: number; active: number }>;
  kill(): Promise<void>;
}

async function startFlvOrigin(): Promise<FlvOrigin> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      ORIGIN_SCRIPT,
      FLV_FILE,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  while (!text.includes("\n")) {
    const r = await reader.read();
    if (r.done) throw new Error("FLV origin exited before printing its port");
    text += new TextDecoder().decode(r.value);
  }
  clearTimeout(timer);
  // Keep draining stdout so the child never blocks on a full pipe.
  const drained = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  const url = `http://127.0.0.1:${Number(text.trim())}`;
  let killed = false;
  return {
    url,
    async stats() {
      return await (await fetch(`${url}/stats`)).json();
    },
    async kill() {
      if (!killed) {
        killed = true;
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
      await child.status;
      await drained;
    },
  };
}

/** Reads the first `n` tags of an HTTP-FLV response, then cancels it. */
async function firstTags(res: Response, n: number) {
  const reader = res.body!.getReader();
  const flv = new FlvReader();
  const tags = [];
  try {
    while (tags.length < n) {
      const r = await reader.read();
      if (r.done) break;
      flv.push(r.value.slice());
      tags.push(...flv.pullAll());
    }
  } finally {
    await reader.cancel();
  }
  return { header: flv.header, tags: tags.slice(0, n) };
}

/**
 * Reads `res` until a video keyframe has arrived (media flows through the edge and its GOP
 * cache holds one), then lets go of the body without cancelling it.
 */
async function untilKeyframe(res: Response): Promise<void> {
  const reader = res.body!.getReader();
  const flv = new FlvReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) throw new Error("the stream ended before a keyframe");
      flv.push(r.value.slice());
      for (const t of flv.pullAll()) {
        // FLV video tag: frame type 1 (key) in the high nibble, AVC packet type 1 (NALUs).
        if (
          t.type === FlvTagType.Video && t.data[0]! >> 4 === 1 &&
          t.data[1] === 1
        ) return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

for (const httpServer of ["http1", "deno"] as const) {
  Deno.test(`FlvFanout (${httpServer} server): one upstream per stream; late joiners get header, metadata, sequence headers and GOP at once; idle upstream closes`, async () => {
    const origin = await startFlvOrigin();
    const edge = await startTestEdge({
      ...edgeConfig([origin.url], { live: { idleCloseMs: 300 } }),
      httpServer,
    });
    try {
      const url = `http://127.0.0.1:${edge.port}/live/demo.flv`;
      const viewers = await Promise.all([fetch(url), fetch(url), fetch(url)]);
      assert.ok(
        viewers.every((v) =>
          v.status === 200 && v.headers.get("content-type") === "video/x-flv"
        ),
      );
      assert.deepEqual(viewers.map((v) => v.headers.get("x-cache")).sort(), [
        "HIT",
        "HIT",
        "MISS",
      ]);
      // A late joiner: once media flows (a viewer has had a keyframe, so the GOP cache has one).
      await untilKeyframe(viewers[0]!);
      const late = await fetch(url);
      assert.equal(
        (await origin.stats()).total,
        1,
        "one upstream connection for four viewers",
      );
      const { header, tags } = await firstTags(late, 6);
      assert.equal(header?.hasVideo, true);
      assert.equal(tags[0]!.type, FlvTagType.Script, "metadata first");
      const video = tags.filter((t) => t.type === FlvTagType.Video);
      assert.equal(
        video[0]!.data[1],
        0,
        "AVC sequence header before any frame",
      );
      const firstFrame = video.find((t) => t.data[1] === 1)!;
      assert.equal(
        firstFrame.data[0]! >> 4,
        1,
        "first frame is a keyframe (GOP cache)",
      );
      const audio = tags.filter((t) => t.type === FlvTagType.Audio);
      assert.equal(audio[0]!.data[1], 0, "AAC sequence header");
      for (const v of viewers) await v.body!.cancel();
      await waitFor(
        "upstream closed after the last viewer left",
        async () => (await origin.stats()).active === 0 || undefined,
        10_000,
        50,
      );
      assert.deepEqual(edge.fanout.sessions(), []);
    } finally {
      await edge.close();
      await origin.kill();
    }
  });
}

Deno.test("FlvFanout: a stream the origin does not have answers 404", async () => {
  const origin = await startFlvOrigin();
  const edge = await startTestEdge(edgeConfig([origin.url]));
  try {
    const res = await fetch(`http://127.0.0.1:${edge.port}/live/missing.flv`);
    await res.body?.cancel();
    assert.equal(res.status, 404);
  } finally {
    await edge.close();
    await origin.kill();
  }
});

Deno.test("FlvFanout: with redundant origins a stream only one of them has plays whichever is asked first; one none has is a 404", async () => {
  const empty = await startMeridianOrigin();
  const full = await startMeridianOrigin();
  const names = ["s1", "s2", "s3", "s4"];
  for (const name of names) {
    const hub = full.registry.startPublish("live", name, {
      peer: "test",
      protocol: "test",
    });
    for (const t of synthStream(2000)) hub.pushTag(t);
  }
  const edge = await startTestEdge(edgeConfig([empty.http, full.http]));
  try {
    // Round-robin sends about half of the first connects to the origin without the stream.
    for (const name of names) {
      const res = await fetch(`http://127.0.0.1:${edge.port}/live/${name}.flv`);
      const why = res.status === 200 ? "" : await res.text();
      assert.equal(res.status, 200, `${name}: ${why}`);
      await res.body?.cancel();
    }
    const missing = await fetch(`http://127.0.0.1:${edge.port}/live/none.flv`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await edge.close();
    await full.close();
    await empty.close();
  }
});

Deno.test("FlvFanout: a viewer's ?token= never shows in the sessions list or /metrics", async () => {
  const origin = await startFlvOrigin();
  const edge = await startTestEdge(edgeConfig([origin.url]));
  try {
    const res = await fetch(
      `http://127.0.0.1:${edge.port}/live/demo.flv?token=SeCrEtToKeN12345`,
    );
    assert.equal(res.status, 200);
    await waitFor(
      "a live session",
      () => edge.fanout.sessions().length > 0 || undefined,
      10_000,
      20,
    );
    assert.deepEqual(edge.fanout.sessions().map((x) => x.path), [
      "/live/demo.flv",
    ]);
    const metrics = await (await fetch(`http://127.0.0.1:${edge.port}/metrics`))
      .text();
    assert.ok(
      metrics.includes('stream="/live/demo.flv"'),
      "the stream is labelled",
    );
    assert.ok(!metrics.includes("SeCrEtToKeN12345"), "the token is not");
    await res.body?.cancel();
  } finally {
    await edge.close();
    await origin.kill();
  }
});

Deno.test("FlvFanout: an origin that cannot be reached is a 502 whose cause is logged once, without the query", async () => {
  const lines: string[] = [];
  const log = createLogger("edge", {
    format: "json",
    write: (l) => lines.push(l),
  });
  const down = `http://127.0.0.1:${freeTcpPort()}`;
  const edge = await startTestEdge(edgeConfig([down]), { log });
  try {
    const res = await fetch(
      `http://127.0.0.1:${edge.port}/live/demo.flv?token=AbCdEfGh12345678`,
    );
    await res.body?.cancel();
    assert.equal(res.status, 502);
    const failed = lines.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "live upstream failed"
    );
    assert.equal(failed.length, 1, lines.join("\n"));
    assert.equal(failed[0].stream, "/live/demo.flv");
    assert.equal(failed[0].origin, down);
    assert.equal(
      failed[0].error,
      `Cannot fetch /live/demo.flv from origin ${down}: connect error`,
    );
    assert.ok(
      lines.every((l) => !l.includes("AbCdEfGh12345678")),
      "no token in the log",
    );
  } finally {
    await edge.close();
  }
});

Deno.test({
  name:
    "FlvFanout: when the origin dies mid-session, ffmpeg keeps receiving from the other origin",
  ignore: !(await hasBinary("ffmpeg")),
  fn: async () => {
    const a = await startFlvOrigin();
    const b = await startFlvOrigin();
    const edge = await startTestEdge(
      edgeConfig([a.url, b.url], { live: { idleCloseMs: 200 } }),
    );
    const seconds = 7;
    const ffmpeg = new Deno.Command("ffmpeg", {
      args: [
        "-v",
        "error",
        "-nostdin",
        "-rw_timeout",
        "10000000",
        "-i",
        `http://127.0.0.1:${edge.port}/live/demo.flv`,
        "-t",
        String(seconds),
        "-f",
        "null",
        "-",
        "-progress",
        "pipe:1",
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const killTimer = setTimeout(() => ffmpeg.kill("SIGKILL"), 40_000);
    // ffmpeg's -progress lines, as they come: how far it has played.
    let progress = "";
    const reading = (async () => {
      for await (
        const text of ffmpeg.stdout.pipeThrough(new TextDecoderStream())
      ) progress += text;
    })();
    const stderrText = new Response(ffmpeg.stderr).text();
    const playedSeconds = () =>
      Math.max(
        0,
        ...[...progress.matchAll(/out_time_us=(\d+)/g)].map((m) =>
          Number(m[1]) / 1e6
        ),
      );
    try {
      await waitFor(
        "edge session",
        () => edge.fanout.sessions()[0]?.connected || undefined,
        10_000,
        50,
      );
      // Mid-session: ffmpeg has played 2 s from the first origin.
      await waitFor("ffmpeg to play 2 s", () => playedSeconds() >= 2, 15_000);
      const first = edge.fanout.sessions()[0]!.origin;
      const [dying, surviving] = first === a.url ? [a, b] : [b, a];
      await dying.kill();
      await waitFor(
        "switch to the other origin",
        () => edge.fanout.sessions()[0]?.origin === surviving.url || undefined,
        10_000,
        50,
      );
      const out = await ffmpeg.status;
      await reading;
      const stderr = await stderrText;
      assert.equal(out.code, 0, stderr);
      const reached = playedSeconds();
      assert.ok(
        reached >= seconds - 0.5,
        `ffmpeg stopped at ${reached}s of ${seconds}s: ${stderr}`,
      );
      assert.equal(edge.fanout.sessions()[0]?.reconnects ?? 1, 1);
      assert.equal((await surviving.stats()).total, 1);
    } finally {
      clearTimeout(killTimer);
      try {
        ffmpeg.kill("SIGKILL");
      } catch {
        // exited
      }
      await ffmpeg.status;
      await reading;
      await stderrText;
      await edge.close();
      await a.kill();
      await b.kill();
    }
  },
});
