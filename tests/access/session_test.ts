import assert from "node:assert/strict";
import {
  importSessionKey,
  MAX_SESSION_CREDENTIAL_LENGTH,
  signSession,
  TokenError,
  verifySession,
} from "../../access/mod.ts";

const SECRET = "0123456789abcdef0123456789abcdef-session";
const key = await importSessionKey(SECRET);
const at = (path: string, nowMs = 1000) => ({ path, nowMs });

Deno.test("signSession() output verifies for paths under the prefix until expiry", async () => {
  const cred = await signSession(
    {
      pathPrefix: "/live/demo",
      expiresAtMs: 5000,
      subject: "AbCdEfGh12345678",
    },
    key,
  );
  assert.match(cred, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(await verifySession(cred, key, at("/live/demo.m3u8")), {
    ok: true,
    claims: {
      pathPrefix: "/live/demo",
      expiresAtMs: 5000,
      subject: "AbCdEfGh12345678",
    },
  });
  assert.equal(
    (await verifySession(cred, key, at("/live/demo/seg1.ts", 4999))).ok,
    true,
  );
  assert.deepEqual(
    await verifySession(cred, key, at("/live/demo.m3u8", 5000)),
    {
      ok: false,
      reason: "expired",
    },
  );
  assert.deepEqual(await verifySession(cred, key, at("/live/other.flv")), {
    ok: false,
    reason: "wrong_path",
  });
});

Deno.test("signSession() is deterministic and accepts the secret itself", async () => {
  const claims = { pathPrefix: "/live/", expiresAtMs: 2000 };
  assert.equal(
    await signSession(claims, key),
    await signSession(claims, SECRET),
  );
});

Deno.test("verifySession() refuses tampered payloads, signatures and other keys", async () => {
  const cred = await signSession({
    pathPrefix: "/live/demo",
    expiresAtMs: 5000,
  }, key);
  const [payload, mac] = cred.split(".") as [string, string];
  const forged = new TextEncoder().encode(
    JSON.stringify({ p: "/", e: 9_999_999_999_999 }),
  ).toBase64({ alphabet: "base64url", omitPadding: true });
  const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
  const other = await importSessionKey("another-secret-another-secret-another");
  const cases: [string, string][] = [
    [`${forged}.${mac}`, "bad_signature"],
    [`${payload}.${flip(mac)}`, "bad_signature"],
    [`${flip(payload)}.${mac}`, "bad_signature"],
    [cred, "bad_signature:other"],
    ["", "malformed"],
    ["nodot", "malformed"],
    [".abc", "malformed"],
    [`${payload}.`, "malformed"],
    [`${payload}.${mac}.x`, "malformed"],
    [`${payload}.a+b`, "malformed"],
    ["a".repeat(MAX_SESSION_CREDENTIAL_LENGTH + 1), "malformed"],
  ];
  for (const [c, want] of cases) {
    const k = want.endsWith(":other") ? other : key;
    const r = await verifySession(c, k, at("/live/demo.flv"));
    assert.deepEqual(
      r,
      { ok: false, reason: want.split(":")[0] },
      c.slice(0, 40),
    );
  }
});

Deno.test("signSession() and importSessionKey() reject bad input with TokenError", async () => {
  await assert.rejects(
    signSession({ pathPrefix: "live/", expiresAtMs: 1 }, key),
    (e: unknown) =>
      e instanceof TokenError && e.code === "TOKEN_INVALID_CLAIMS",
  );
  await assert.rejects(
    signSession({ pathPrefix: "/live/", expiresAtMs: 1.5 }, key),
    (e: unknown) =>
      e instanceof TokenError && e.code === "TOKEN_INVALID_CLAIMS",
  );
  await assert.rejects(
    importSessionKey("too-short-secret"),
    (e: unknown) =>
      e instanceof TokenError && e.code === "TOKEN_WEAK_SECRET" &&
      !e.message.includes("too-short-secret"),
  );
});

Deno.test("verifySession() survives random input (fuzz, seeded)", async () => {
  let seed = 42;
  const rand = () =>
    (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const good = await signSession(
    { pathPrefix: "/live/", expiresAtMs: 5000 },
    key,
  );
  const chars = "AZaz09-_.+/=é\u0000";
  for (let i = 0; i < 300; i++) {
    let s = good.split("");
    const edits = 1 + Math.floor(rand() * 4);
    for (let j = 0; j < edits; j++) {
      const pos = Math.floor(rand() * (s.length + 1));
      const op = rand();
      if (op < 0.4) s[pos] = chars[Math.floor(rand() * chars.length)]!;
      else if (op < 0.7) s.splice(pos, 1);
      else s = s.slice(0, pos);
    }
    const r = await verifySession(s.join(""), key, at("/live/x.flv"));
    if (s.join("") !== good) assert.equal(r.ok, false, s.join(""));
  }
});
