import assert from "node:assert/strict";
import { NetError, openListener, StartupCleanup } from "../../net/mod.ts";
import { holdTcpPort } from "../_helpers/ports.ts";

Deno.test("openListener() names what and where a bind failed, with the system error as cause", async () => {
  const held = holdTcpPort();
  try {
    const err = await openListener(
      "DNS TCP",
      "127.0.0.1",
      held.port,
      () => Deno.listen({ hostname: "127.0.0.1", port: held.port }),
    ).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NetError, String(err));
    assert.equal(err.code, "NET_LISTEN");
    assert.equal(
      err.message,
      `Cannot listen for DNS TCP on 127.0.0.1:${held.port}: the address is in use`,
    );
    assert.ok(err.cause instanceof Deno.errors.AddrInUse);
    const v6 = await openListener("HTTP", "::1", 8080, () => {
      throw new Error("no IPv6 here");
    }).catch((e: unknown) => e);
    assert.equal(
      (v6 as Error).message,
      "Cannot listen for HTTP on [::1]:8080: no IPv6 here",
    );
  } finally {
    held.close();
  }
});

Deno.test("StartupCleanup closes what was opened, newest first and once, when a step fails", async () => {
  const closed: string[] = [];
  const opened = new StartupCleanup();
  assert.equal(await opened.run(() => 1), 1);
  opened.add(() => closed.push("a"));
  opened.add(() => {
    closed.push("b");
    throw new Error("b cannot close");
  });
  opened.add(async () => {
    await Promise.resolve();
    closed.push("c");
  });
  await assert.rejects(
    opened.run(() => Promise.reject(new Error("step failed"))),
    /step failed/,
  );
  // A close that throws does not stop the others; the step's error is what goes up.
  assert.deepEqual(closed, ["c", "b", "a"]);
  await opened.close();
  assert.deepEqual(closed, ["c", "b", "a"]);
});
