import assert from "node:assert/strict";
import { parseConfig } from "../../../config/mod.ts";
import {
  AccessGate,
  authorizeRtmpAccess,
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

Deno.test("authorizeRtmpAccess() allows safe registry names and refuses others with the action's onStatus code", () => {
  const base = { app: "live", params: {}, peer: "127.0.0.1:1" } as const;
  const allowed = ["demo", "a.b_c-9", "x".repeat(128), "...", ".a"];
  const refused = [
    "",
    ".",
    "..",
    "a/b",
    "..\\x",
    "x".repeat(129),
    "a b",
    "a\u0000",
    "caf\u00e9",
    "a?b",
  ];
  for (const name of allowed) {
    assert.deepEqual(
      authorizeRtmpAccess({ ...base, action: "publish", name }),
      { allowed: true },
      name,
    );
  }
  for (const name of refused) {
    for (
      const [action, code] of [
        ["publish", "NetStream.Publish.BadName"],
        ["play", "NetStream.Play.StreamNotFound"],
      ] as const
    ) {
      assert.deepEqual(authorizeRtmpAccess({ ...base, action, name }), {
        allowed: false,
        code,
        description: "Invalid stream name: expected 1-128 of A-Z a-z 0-9 _ . -",
      }, `${action} ${JSON.stringify(name)}`);
    }
  }
  // The app is checked the same way, and named in the description.
  assert.deepEqual(
    authorizeRtmpAccess({ ...base, app: "..", action: "play", name: "demo" }),
    {
      allowed: false,
      code: "NetStream.Play.StreamNotFound",
      description: "Invalid app name: expected 1-128 of A-Z a-z 0-9 _ . -",
    },
  );
});
