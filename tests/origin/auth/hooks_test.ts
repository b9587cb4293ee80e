import assert from "node:assert/strict";
import { parseConfig } from "../../../config/mod.ts";
import { HookAction, HookClient } from "../../../origin/auth/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { withHookServer } from "./_fixture.ts";

function hooks(over: Record<string, unknown>) {
  return parseConfig({ origin: { hooks: { timeoutMs: 200, ...over } } }).origin
    .hooks;
}

const event = {
  action: HookAction.Play,
  app: "live",
  stream: "cam",
  ip: "192.0.2.9",
  protocol: "rtmp",
  params: { token: "AbCdEfGh12345678", key: "k", cred: "c", lang: "en" },
} as const;

Deno.test("HookClient.ask() allows on 2xx, denies on other statuses, posts no secrets", async () => {
  await withHookServer(async (base, bodies) => {
    const allow = new HookClient(hooks({ onPlay: `${base}/allow` }), {
      log: silentLogger,
    });
    assert.deepEqual(await allow.ask(event), { allowed: true });
    assert.deepEqual(bodies[0], {
      action: "on_play",
      app: "live",
      stream: "cam",
      ip: "192.0.2.9",
      protocol: "rtmp",
      params: { lang: "en" },
    });
    const deny = new HookClient(hooks({ onPlay: `${base}/deny` }), {
      log: silentLogger,
    });
    assert.deepEqual(await deny.ask(event), {
      allowed: false,
      reason: "denied",
      detail: "status 403",
    });
    // No hook configured: allowed without a request.
    const none = new HookClient(hooks({}), { log: silentLogger });
    assert.deepEqual(await none.ask(event), { allowed: true });
    assert.equal(bodies.length, 2);
  });
});

Deno.test("HookClient.ask() applies onFailure to timeouts and refused connections", async () => {
  await withHookServer(async (base) => {
    for (const onFailure of ["deny", "allow"] as const) {
      const slow = new HookClient(
        hooks({ onPlay: `${base}/slow`, onFailure }),
        { log: silentLogger },
      );
      const started = performance.now();
      const r = await slow.ask(event);
      assert.ok(performance.now() - started < 1500, "bounded by the timeout");
      assert.deepEqual(
        r,
        onFailure === "allow" ? { allowed: true } : {
          allowed: false,
          reason: "failed",
          detail: "no answer in 200 ms",
        },
      );
    }
  });
  // A port nobody listens on (the server above is gone).
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const refused = new HookClient(
    hooks({ onPublish: `http://127.0.0.1:${port}/x` }),
    { log: silentLogger },
  );
  const r = await refused.ask({ ...event, action: HookAction.Publish });
  assert.equal(!r.allowed && r.reason, "failed");
});

Deno.test("HookClient.notify() fires on_stop and on_unpublish without waiting", async () => {
  await withHookServer(async (base, bodies) => {
    const client = new HookClient(
      hooks({ onStop: `${base}/allow`, onUnpublish: `${base}/deny` }),
      { log: silentLogger },
    );
    client.notify({ ...event, action: HookAction.Stop });
    client.notify({ ...event, action: HookAction.Unpublish });
    client.notify({ ...event, action: HookAction.Play }); // not configured: nothing sent
    await client.drain();
    assert.deepEqual(
      bodies.map((b) => b.action).sort(),
      ["on_stop", "on_unpublish"],
    );
  });
});
