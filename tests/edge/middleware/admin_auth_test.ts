import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  adminAuth,
  timingSafeEqualStrings,
} from "../../../edge/middleware/admin_auth.ts";

Deno.test("timingSafeEqualStrings() compares whole strings of any length", async () => {
  assert.equal(await timingSafeEqualStrings("a", "a"), true);
  assert.equal(await timingSafeEqualStrings("a", "ab"), false);
  assert.equal(await timingSafeEqualStrings("", ""), true);
});

Deno.test("adminAuth(): 403 when disabled, 401 without the bearer token, next() with it", async () => {
  const app = new Hono();
  app.use("/on/*", adminAuth("t0ken"));
  app.use("/off/*", adminAuth(""));
  app.post("*", (c) => c.text("ok"));
  assert.equal(
    (await app.request("/off/x", {
      method: "POST",
      headers: { authorization: "Bearer " },
    })).status,
    403,
  );
  assert.equal((await app.request("/on/x", { method: "POST" })).status, 401);
  assert.equal(
    (await app.request("/on/x", {
      method: "POST",
      headers: { authorization: "Basic t0ken" },
    })).status,
    401,
  );
  assert.equal(
    (await app.request("/on/x", {
      method: "POST",
      headers: { authorization: "Bearer t0ken" },
    })).status,
    200,
  );
});
