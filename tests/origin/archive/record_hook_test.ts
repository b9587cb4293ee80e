/**
 * The `onRecordDone` outbox: a delivery the hook has not taken survives a restart (resumed from
 * the attempt it reached), one that succeeds or gives up leaves nothing, a newer event for the
 * same file replaces the older, unreadable entries are dropped with a log line.
 */
import assert from "node:assert/strict";
import {
  RECORD_HOOK_ATTEMPTS,
  RECORD_HOOK_FIRST_RETRY_MS,
  type RecordDoneEvent,
  RecordHook,
} from "../../../origin/archive/record_hook.ts";
import { silentLogger } from "../../../origin/log.ts";
import { waitFor } from "../../_helpers/peers.ts";
import { captureLogger } from "./_fixture.ts";

const EVENT: RecordDoneEvent = {
  app: "live",
  stream: "cam",
  path: "recordings/live/cam/2024-05-01T12-00-00Z.mp4",
  url: "/vod/recordings/live/cam/2024-05-01T12-00-00Z.mp4",
  format: "mp4",
  start: "2024-05-01T12:00:00.000Z",
  duration: 60,
  bytes: 15_000_000,
};

/** An endpoint answering the given statuses in turn (the last one from then on). */
function endpoint(...statuses: number[]) {
  const bodies: Record<string, unknown>[] = [];
  const fetch = ((_url: string | URL | Request, init?: RequestInit) => {
    bodies.push(JSON.parse(String(init?.body)));
    const status = statuses[Math.min(bodies.length, statuses.length) - 1]!;
    return Promise.resolve(new Response(null, { status }));
  }) as typeof globalThis.fetch;
  return { bodies, fetch };
}

async function outbox(dir: string) {
  const out: {
    name: string;
    entry: { event: RecordDoneEvent; attempts: number };
  }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      out.push({
        name: e.name,
        entry: JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`)),
      });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

/** A sleep that records what it was asked and waits `ms` real milliseconds (or until stopped). */
function sleeper(realMs: number) {
  const asked: number[] = [];
  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      asked.push(ms);
      const t = setTimeout(resolve, realMs);
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  return { asked, sleep };
}

Deno.test("onRecordDone outbox: a delivery the hook has not taken survives a restart and resumes from its attempt", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-hook-" });
  try {
    // The first run: the hook is down; it stops (shutdown) while waiting for the third attempt.
    const down = endpoint(503);
    const s1 = sleeper(5);
    const first = new RecordHook({
      url: "http://hook.test/done",
      timeoutMs: 1000,
      log: silentLogger,
      dir,
      fetch: down.fetch,
      sleep: (ms, signal) =>
        down.bodies.length >= 2
          ? sleeper(60_000).sleep(ms, signal)
          : s1.sleep(ms, signal),
    });
    await first.notify(EVENT);
    const [saved] = await outbox(dir);
    assert.ok(
      saved,
      "the event is in the outbox before the first attempt ends",
    );
    await waitFor("two attempts", () => down.bodies.length === 2);
    await waitFor(
      "the second failure saved",
      async () => (await outbox(dir))[0]?.entry.attempts === 2,
    );
    await first.close(0);
    const left = await outbox(dir);
    assert.equal(left.length, 1, "still owed after the shutdown");
    assert.deepEqual(left[0]!.entry.event, EVENT);
    assert.equal(left[0]!.entry.attempts, 2);

    // The next run: resumed with the backoff it had reached (the third attempt waits 2 s).
    const up = endpoint(204);
    const s2 = sleeper(1);
    const log = captureLogger();
    const second = new RecordHook({
      url: "http://hook.test/done",
      timeoutMs: 1000,
      log: log.log,
      dir,
      fetch: up.fetch,
      sleep: s2.sleep,
    });
    assert.equal(await second.resume(), 1);
    await waitFor("the resumed delivery", () => second.pending === 0);
    assert.deepEqual(s2.asked, [RECORD_HOOK_FIRST_RETRY_MS * 2]);
    assert.equal(up.bodies.length, 1);
    assert.deepEqual(up.bodies[0], { action: "on_record_done", ...EVENT });
    assert.equal(second.stats.delivered, 1);
    assert.equal(second.stats.resumed, 1);
    assert.deepEqual(await outbox(dir), [], "nothing left once delivered");
    assert.ok(
      log.lines.some((l) => l.includes("onRecordDone deliveries resumed")),
    );
    await second.close(0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onRecordDone outbox: giving up leaves nothing; a newer event for the same file replaces the older; unreadable entries are dropped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-hook-" });
  try {
    const never = endpoint(500);
    const fast = sleeper(0);
    const hook = new RecordHook({
      url: "http://hook.test/done",
      timeoutMs: 1000,
      log: silentLogger,
      dir,
      fetch: never.fetch,
      sleep: fast.sleep,
    });
    await hook.notify(EVENT);
    await waitFor("the attempts to run out", () => hook.pending === 0);
    assert.equal(never.bodies.length, RECORD_HOOK_ATTEMPTS);
    assert.equal(hook.stats.failed, 1);
    assert.deepEqual(await outbox(dir), []);
    await hook.close(0);

    // The same file told again while its first delivery waits to retry (its recovery after a
    // crash): one delivery, of the newer event.
    const once = endpoint(503, 204);
    let release: (() => void) | undefined;
    const held = new RecordHook({
      url: "http://hook.test/done",
      timeoutMs: 1000,
      log: silentLogger,
      dir,
      fetch: once.fetch,
      sleep: () => new Promise<void>((r) => release = r),
    });
    await held.notify(EVENT);
    await waitFor("the first attempt", () => release !== undefined);
    const newer = { ...EVENT, duration: 61.5, bytes: 15_400_000 };
    await held.notify(newer);
    assert.equal((await outbox(dir))[0]!.entry.event.duration, 61.5);
    release!();
    await waitFor("the delivery", () => held.pending === 0);
    assert.equal(once.bodies.length, 2);
    assert.equal(once.bodies[1]!.duration, 61.5);
    assert.deepEqual(await outbox(dir), []);
    await held.close(0);

    // Junk in the outbox: dropped (logged), the torn .tmp removed, nothing delivered.
    await Deno.writeTextFile(`${dir}/0123.json`, "{not json");
    await Deno.writeTextFile(`${dir}/4567.json.tmp`, "{");
    await Deno.writeTextFile(
      `${dir}/89ab.json`,
      JSON.stringify({ event: { app: 1 }, attempts: 0 }),
    );
    const log = captureLogger();
    const none = endpoint(204);
    const third = new RecordHook({
      url: "http://hook.test/done",
      timeoutMs: 1000,
      log: log.log,
      dir,
      fetch: none.fetch,
    });
    assert.equal(await third.resume(), 0);
    assert.deepEqual(await outbox(dir), []);
    assert.equal(none.bodies.length, 0);
    assert.equal(
      log.lines.filter((l) =>
        l.includes("onRecordDone outbox entry unreadable, dropped")
      ).length,
      2,
    );
    await third.close(0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
