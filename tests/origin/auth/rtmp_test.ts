import assert from "node:assert/strict";
import { parseConfig } from "../../../config/mod.ts";
import {
  AccessGate,
  createRtmpAccessControl,
  peerIp,
} from "../../../origin/auth/mod.ts";
import { silentLogger } from "../../../origin/log.ts";

Deno.test("peerIp() strips the port from IPv4 and IPv6 peers", () => {
  assert.equal(peerIp("127.0.0.1:1935"), "127.0.0.1");
  assert.equal(peerIp("::1:5000"), "::1");
  assert.equal(peerIp("[2001:db8::1]:5000"), "2001:db8::1");
});

Deno.test("createRtmpAccessControl() maps refusals to onStatus codes with a description", async () => {
  const origin = parseConfig({
    origin: { apps: [{ name: "live", publishKeys: ["k1"] }] },
  }).origin;
  const gate = new AccessGate({ ...origin, sessionSeconds: 60 }, {
    log: silentLogger,
  });
  const access = createRtmpAccessControl(gate);
  const base = { app: "live", name: "cam", peer: "127.0.0.1:5" } as const;
  const missing = await access.authorize({
    ...base,
    action: "publish",
    params: {},
  });
  assert.deepEqual(missing, {
    allowed: false,
    code: "NetStream.Publish.Unauthorized",
    description: "Publish key required: add ?key= to the stream name",
  });
  const wrong = await access.authorize({
    ...base,
    action: "publish",
    params: { key: "k2" },
  });
  assert.equal(!wrong.allowed && wrong.description, "Publish key wrong");
  const ok = await access.authorize({
    ...base,
    action: "publish",
    params: { key: "k1" },
  });
  assert.ok(ok.allowed);
  ok.session?.watch(() => {});
  ok.session?.end();
  ok.session?.end(); // idempotent
  assert.ok(
    (await access.authorize({ ...base, action: "play", params: {} }))
      .allowed,
  );
  await gate.close();
});
