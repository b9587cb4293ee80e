import assert from "node:assert/strict";
import {
  ControlError,
  resolveControlSecrets,
  SECRETS_FILE,
} from "../../control/mod.ts";
import { withTempDir } from "../store/_temp_store.ts";

const EMPTY = { servicePassword: "", adminToken: "" };

Deno.test("resolveControlSecrets() generates both at first start, then keeps them", async () => {
  await withTempDir(async (dir) => {
    const data = `${dir}/data`;
    const first = await resolveControlSecrets(EMPTY, data);
    assert.match(first.servicePassword, /^[A-Za-z0-9]{32}$/);
    assert.match(first.adminToken, /^[A-Za-z0-9]{32}$/);
    assert.notEqual(first.servicePassword, first.adminToken);
    assert.deepEqual(first.generated, {
      servicePassword: first.servicePassword,
      adminToken: first.adminToken,
    });
    const stat = await Deno.stat(`${data}/${SECRETS_FILE}`);
    if (Deno.build.os !== "windows") assert.equal(stat.mode! & 0o777, 0o600);
    const again = await resolveControlSecrets(EMPTY, data);
    assert.equal(again.servicePassword, first.servicePassword);
    assert.equal(again.adminToken, first.adminToken);
    assert.deepEqual(again.generated, {});
  });
});

Deno.test("resolveControlSecrets() uses configured secrets and generates only the empty one", async () => {
  await withTempDir(async (dir) => {
    const s = await resolveControlSecrets({
      servicePassword: "configured-pass",
      adminToken: "",
    }, dir);
    assert.equal(s.servicePassword, "configured-pass");
    assert.deepEqual(Object.keys(s.generated), ["adminToken"]);
  });
});

Deno.test("resolveControlSecrets() agrees across concurrent first starts", async () => {
  await withTempDir(async (dir) => {
    const all = await Promise.all(
      Array.from({ length: 4 }, () => resolveControlSecrets(EMPTY, dir)),
    );
    assert.equal(new Set(all.map((s) => s.adminToken)).size, 1);
    assert.equal(all.filter((s) => s.generated.adminToken).length, 1);
  });
});

Deno.test("resolveControlSecrets() rejects weak configured secrets without echoing them", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      resolveControlSecrets(
        { servicePassword: "", adminToken: "short-secret" },
        dir,
      ),
      (e: unknown) =>
        e instanceof ControlError && e.code === "CONTROL_WEAK_SECRET" &&
        e.message.includes("'control.adminToken'") &&
        e.message.includes("12-character") &&
        !e.message.includes("short-secret"),
    );
    await assert.rejects(
      resolveControlSecrets({ servicePassword: "pw", adminToken: "" }, dir),
      /'control\.servicePassword': got a 2-character value/,
    );
  });
});

Deno.test("resolveControlSecrets() names an unreadable secrets file", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/${SECRETS_FILE}`, "{not json");
    await assert.rejects(
      resolveControlSecrets(EMPTY, dir),
      (e: unknown) =>
        e instanceof ControlError && e.code === "CONTROL_SECRETS_FILE",
    );
  });
});
