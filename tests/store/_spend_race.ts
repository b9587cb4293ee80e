/**
 * Two OS processes (`spend_worker.ts`) spending the same tokens at one instant through any
 * backend: exactly one wins a token's last use, and together they spend another's uses exactly.
 *
 * @module
 */

import assert from "node:assert/strict";
import { openStore } from "../../store/mod.ts";

/** Uses of the token both processes drain. */
const MANY_USES = 40;
/** Time both workers get to boot and connect before the shared start instant (ms). */
const BOOT_MS = 3000;

/** Runs the race against the store `url` names and asserts its outcome. */
export async function raceTwoProcesses(url: string): Promise<void> {
  const now = Date.now();
  const setup = await openStore({ url, path: "" }, ".");
  try {
    await setup.createToken({
      token: "LASTUSE000000001",
      app: null,
      createdAtMs: now,
      expiresAtMs: now + 600_000,
      maxUses: 3,
    });
    await setup.spendTokenUse("LASTUSE000000001", now);
    await setup.spendTokenUse("LASTUSE000000001", now);
    await setup.createToken({
      token: "MANYUSES00000040",
      app: null,
      createdAtMs: now,
      expiresAtMs: now + 600_000,
      maxUses: MANY_USES,
    });
  } finally {
    await setup.close();
  }
  const worker = new URL("./spend_worker.ts", import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  // Both start at the same instant, after each has had time to boot and connect.
  const startAt = String(Date.now() + BOOT_MS);
  const spawn = () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        config,
        "-A",
        worker,
        url,
        startAt,
        "LASTUSE000000001",
        "MANYUSES00000040",
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal: AbortSignal.timeout(30_000),
    }).output();
  const outs = await Promise.all([spawn(), spawn()]);
  const results = outs.map((o) => {
    const stderr = new TextDecoder().decode(o.stderr);
    assert.equal(o.code, 0, `worker failed: ${stderr}`);
    return JSON.parse(new TextDecoder().decode(o.stdout)) as {
      last: boolean;
      wins: number;
    };
  });
  assert.equal(
    results.filter((r) => r.last).length,
    1,
    JSON.stringify(results),
  );
  assert.equal(
    results[0]!.wins + results[1]!.wins,
    MANY_USES,
    JSON.stringify(results),
  );
  const check = await openStore({ url, path: "" }, ".");
  try {
    assert.equal(
      (await check.getToken("MANYUSES00000040"))?.usesSpent,
      MANY_USES,
    );
    assert.equal((await check.getToken("LASTUSE000000001"))?.usesSpent, 3);
  } finally {
    await check.close();
  }
}
