/**
 * The entry point as a user runs it: `deno run -A main.ts [--roles …] [--config …]`.
 * A child process per case; ports chosen free just before, everything on loopback.
 */
import assert from "node:assert/strict";
import { hasBinary, probeStreams, waitFor } from "./_helpers/peers.ts";
import { assertPortFree, holdTcpPort } from "./_helpers/ports.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const HAS_FFPROBE = await hasBinary("ffprobe");

/** A port that was free a moment ago (the child binds it next). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function runMain(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

Deno.test("main.ts refuses an unknown role and a wrong config key with exit code 2, naming them", async () => {
  const role = await runMain(["--roles", "origin,nope"]);
  assert.equal(role.code, 2);
  assert.match(role.stderr, /Unknown role 'nope'/);

  const dir = await Deno.makeTempDir({ prefix: "meridian-cli-" });
  try {
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(bad, "origin:\n  rtmpPort: 70000\n");
    const r = await runMain(["--roles", "origin", "--config", bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /origin\.rtmpPort/);
    await Deno.writeTextFile(bad, "origin:\n  rtmpPrt: 1935\n");
    const typo = await runMain(["--roles", "origin", "--config", bad]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /origin\.rtmpPrt/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "main.ts starts every role with the embedded demo channel, playable from origin and edge, and stops on SIGTERM",
  ignore: !HAS_FFPROBE,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-cli-" });
    const p = {
      rtmp: freePort(),
      origin: freePort(),
      edge: freePort(),
      dns: freePort(),
      sched: freePort(),
      control: freePort(),
    };
    // Only ports and the data dir differ from the embedded defaults (so the demo channel is theirs).
    await Deno.writeTextFile(
      `${dir}/meridian.yaml`,
      [
        `dataDir: ${dir}/data`,
        "log: { level: warn, format: json }",
        `origin: { rtmpPort: ${p.rtmp}, httpPort: ${p.origin} }`,
        `edge: { port: ${p.edge}, origins: [{ url: "http://127.0.0.1:${p.origin}" }] }`,
        `scheduler: { dnsPort: ${p.dns}, httpPort: ${p.sched} }`,
        `control: { port: ${p.control} }`,
        "",
      ].join("\n"),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN, "--config", `${dir}/meridian.yaml`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = child.stdout.pipeThrough(new TextDecoderStream());
    let printed = "";
    const reading = (async () => {
      for await (const s of stdout) printed += s;
    })();
    const stderrText = new Response(child.stderr).text();
    let status: Deno.CommandStatus | undefined;
    try {
      await waitFor(
        "the start-up lines of all four roles",
        () =>
          ["origin:", "control:", "edge:", "scheduler:"].every((r) =>
              printed.includes(`Meridian ${r}`)
            )
            ? true
            : undefined,
        30_000,
      );
      assert.match(
        printed,
        new RegExp(`player http://127\\.0\\.0\\.1:${p.origin}/`),
      );
      assert.match(
        printed,
        new RegExp(`viewers http://127\\.0\\.0\\.1:${p.edge}/`),
      );
      for (const port of [p.origin, p.edge, p.sched, p.control]) {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(res.status, 200, `healthz on ${port}`);
        await res.body?.cancel();
      }
      // The demo channel plays at once, with no encoder: from the origin and through the edge.
      for (
        const base of [
          `http://127.0.0.1:${p.origin}`,
          `http://127.0.0.1:${p.edge}`,
        ]
      ) {
        const streams = await waitFor(
          `live/demo at ${base}`,
          async () => {
            const s = await probeStreams(`${base}/live/demo.flv`);
            return s.length >= 2 ? s : undefined;
          },
          30_000,
          500,
        );
        assert.deepEqual(
          streams.map((s) => s.codec_name).sort(),
          ["aac", "h264"],
          base,
        );
      }
      const page = await fetch(`http://127.0.0.1:${p.origin}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      await page.body?.cancel();
      // The player page lists what /api/streams says: the demo channel, played from a file.
      const list =
        await (await fetch(`http://127.0.0.1:${p.origin}/api/streams`))
          .json();
      const demo = list.streams.find((s: { app: string; name: string }) =>
        s.app === "live" && s.name === "demo"
      );
      assert.ok(demo, JSON.stringify(list));
      assert.equal(demo.publisher.protocol, "virtual");
      // The admin token is generated once, printed on first start, and demanded.
      const refused = await fetch(`http://127.0.0.1:${p.edge}/admin/purge`, {
        method: "POST",
        body: JSON.stringify({ all: true }),
      });
      assert.equal(refused.status, 401);
      await refused.body?.cancel();
      assert.match(printed, /Generated admin token: +\S{16,}/);

      child.kill("SIGTERM");
      status = await Promise.race([
        child.status,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000)),
      ]);
      assert.ok(status, "still running 10 s after SIGTERM");
      assert.equal(status.code, 0, await stderrText);
    } catch (e) {
      // The child's own words say why it did not come up.
      if (!status) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        status = await child.status;
      }
      throw new Error(
        `${
          e instanceof Error ? e.message : e
        }\nstdout: ${printed}\nstderr: ${await stderrText}`,
      );
    } finally {
      if (!status) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
      }
      await reading;
      await stderrText;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("main.ts whose last role cannot bind its port exits 1, names the port and closes the roles it had started", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-cli-" });
  const held = holdTcpPort();
  const p = {
    rtmp: freePort(),
    origin: freePort(),
    edge: freePort(),
    dns: freePort(),
    control: freePort(),
  };
  try {
    await Deno.writeTextFile(
      `${dir}/meridian.yaml`,
      [
        `dataDir: ${dir}/data`,
        "log: { level: info, format: json }",
        `origin: { rtmpPort: ${p.rtmp}, httpPort: ${p.origin}, virtualLive: [] }`,
        `edge: { port: ${p.edge}, origins: [{ url: "http://127.0.0.1:${p.origin}" }] }`,
        `scheduler: { dnsPort: ${p.dns}, httpPort: ${held.port} }`,
        `control: { port: ${p.control} }`,
        "",
      ].join("\n"),
    );
    const r = await runMain(["--config", `${dir}/meridian.yaml`], 60_000);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("{")).map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    const failed = lines.find((l) => l.msg === "start-up failed");
    assert.equal(failed?.role, "scheduler", r.stderr);
    assert.ok(
      String(failed?.error).startsWith(
        `Cannot listen for HTTP on 127.0.0.1:${held.port}: the address is in use (NET_LISTEN) ← `,
      ),
      String(failed?.error),
    );
    const closed = lines.find((l) =>
      l.msg === "closed the roles started before the failure"
    );
    assert.deepEqual(closed?.roles, ["edge", "control", "origin"], r.stderr);
    for (const port of [p.rtmp, p.origin, p.edge, p.dns, p.control]) {
      assertPortFree(port);
    }
    assertPortFree(p.dns, "udp");
  } finally {
    held.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts applies a console config edit: only the origin restarts, the edge and control keep running, the file keeps the change", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-cli-" });
  const p = {
    rtmp: freePort(),
    origin: freePort(),
    edge: freePort(),
    control: freePort(),
  };
  const token = "cli-apply-admin-token-0123456789";
  const file = `${dir}/meridian.yaml`;
  await Deno.writeTextFile(
    file,
    [
      "# written by the test",
      `dataDir: ${dir}/data`,
      "log: { level: warn, format: json }",
      `origin: { rtmpPort: ${p.rtmp}, httpPort: ${p.origin}, virtualLive: [] }`,
      `edge: { port: ${p.edge}, origins: [{ url: "http://127.0.0.1:${p.origin}" }] }`,
      `control: { port: ${p.control}, adminToken: ${token} }`,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "--config",
      file,
      "--roles",
      "origin,edge,control",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const auth = { Authorization: `Bearer ${token}` };
  const control = `http://127.0.0.1:${p.control}`;
  const uptime = async (port: number) =>
    (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json())
      .uptimeSeconds as number;
  try {
    await waitFor(
      "control up",
      async () => {
        try {
          const r = await fetch(`${control}/healthz`);
          await r.body?.cancel();
          return r.ok || undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
      100,
    );
    // Every role has run a moment, so a restarted one shows a younger uptime.
    await waitFor(
      "two seconds of uptime",
      async () => (await uptime(p.origin)) >= 2 || undefined,
      10_000,
      200,
    );
    const shown = (await (await fetch(`${control}/admin/config`, {
      headers: auth,
    })).json()).config;
    const res = await fetch(`${control}/admin/config/origin`, {
      method: "PUT",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({
        ...shown.origin,
        hls: { ...shown.origin.hls, windowSegments: 9 },
      }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      applied: true,
      restarted: ["origin"],
      deferred: [],
      persisted: true,
    });
    assert.ok((await uptime(p.origin)) < 2, "the origin restarted");
    assert.ok((await uptime(p.edge)) >= 2, "the edge did not");
    assert.ok((await uptime(p.control)) >= 2, "control did not");
    const text = await Deno.readTextFile(file);
    assert.ok(text.startsWith("# written by the test"), text);
    assert.match(text, /windowSegments: 9/);
    // An invalid edit changes nothing, names the key.
    const bad = await fetch(`${control}/admin/config/origin`, {
      method: "PUT",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ ...shown.origin, rtmpPort: 70000 }),
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).errors[0].key, "origin.rtmpPort");
    assert.match(await Deno.readTextFile(file), /windowSegments: 9/);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await stderrText;
    await Deno.remove(dir, { recursive: true });
  }
});
