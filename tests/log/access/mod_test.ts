import assert from "node:assert/strict";
import {
  AccessLogError,
  type HttpAccessRecord,
  openAccessLog,
} from "../../../log/access/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { parsePromText, sumOf } from "../../_helpers/prom_text.ts";
import { parseJsonLines } from "../../_helpers/access_lines.ts";
import { waitFor } from "../../_helpers/peers.ts";

function request(target: string): HttpAccessRecord {
  return {
    time: Date.now(),
    client: "127.0.0.1",
    method: "GET",
    target,
    protocol: "HTTP/1.1",
    status: 200,
    bytes: 100,
    durationSeconds: 0.001,
    ttfbSeconds: 0.0005,
    cache: undefined,
    userAgent: "test",
    referer: undefined,
    completed: true,
  };
}

Deno.test("openAccessLog() is undefined when off", async () => {
  assert.equal(
    await openAccessLog({
      enabled: false,
      format: "json",
      destination: "stdout",
    }, { role: "edge" }),
    undefined,
  );
});

Deno.test("openAccessLog(): a file moved away (logrotate) and SIGHUP: new lines go to a new file at the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-access-" });
  const path = `${dir}/edge.log`;
  const metrics = new MetricsRegistry();
  const log = await openAccessLog(
    { enabled: true, format: "json", destination: path },
    { role: "edge", metrics },
  );
  assert.ok(log);
  try {
    log.http(request("/one?token=T1"));
    await waitFor(
      "the first line",
      async () => (await Deno.readTextFile(path)).includes("/one"),
    );
    await Deno.rename(path, `${path}.1`);
    Deno.kill(Deno.pid, "SIGHUP");
    await waitFor(
      "the reopen",
      () =>
        sumOf(
            parsePromText(metrics.render()),
            "meridian_access_log_lines_total",
          ) === 1 &&
        Deno.stat(path).then(() => true, () => false),
    );
    log.http(request("/two"));
    await waitFor(
      "the second line in the new file",
      async () =>
        (await Deno.readTextFile(path).catch(() => "")).includes("/two"),
    );
    const rotated = parseJsonLines(await Deno.readTextFile(`${path}.1`));
    assert.deepEqual(rotated.map((l) => l.path), ["/one?token=<redacted>"]);
    const fresh = parseJsonLines(await Deno.readTextFile(path));
    assert.deepEqual(fresh.map((l) => l.path), ["/two"]);
    assert.equal(fresh[0]!.role, "edge");
    const s = parsePromText(metrics.render());
    assert.equal(sumOf(s, "meridian_access_log_lines_total"), 2);
    assert.equal(sumOf(s, "meridian_access_log_dropped_lines_total"), 0);
  } finally {
    await log.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openAccessLog() names a file it cannot open", async () => {
  await assert.rejects(
    () =>
      openAccessLog({
        enabled: true,
        format: "combined",
        destination: "/nonexistent-dir/meridian/access.log",
      }, { role: "origin" }),
    (e: unknown) =>
      e instanceof AccessLogError && e.code === "ACCESS_LOG_OPEN" &&
      e.message.includes("'/nonexistent-dir/meridian/access.log'"),
  );
});

Deno.test("openAccessLog(): roles naming one file share its sink: whole lines from both, one close each", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-access-" });
  const path = `${dir}/all.log`;
  const config = { enabled: true, format: "json" as const, destination: path };
  const edge = await openAccessLog(config, { role: "edge" });
  const origin = await openAccessLog(config, { role: "origin" });
  assert.ok(edge && origin);
  try {
    for (let i = 0; i < 200; i++) {
      edge.http(request(`/e/${i}`));
      origin.http(request(`/o/${i}`));
    }
    await edge.close();
    // The origin's log still writes after the edge let go of the shared sink.
    origin.http(request("/o/last"));
    await waitFor(
      "the last line",
      async () => (await Deno.readTextFile(path)).includes("/o/last"),
    );
    const lines = parseJsonLines(await Deno.readTextFile(path));
    assert.equal(lines.length, 401);
    assert.equal(lines.filter((l) => l.role === "edge").length, 200);
    assert.equal(lines.filter((l) => l.role === "origin").length, 201);
  } finally {
    await origin.close();
    await edge.close(); // twice: nothing happens
    await Deno.remove(dir, { recursive: true });
  }
});
