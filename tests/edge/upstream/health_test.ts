import assert from "node:assert/strict";
import { silentLogger } from "../../../log/mod.ts";
import {
  HealthMonitor,
  SUSPECT_CHECK_MIN_GAP_MS,
} from "../../../edge/upstream/health.ts";
import { ManualClock } from "../_helpers/fixtures.ts";

const ORIGIN = { id: "http://a", url: "http://a", weight: 1, region: "" };

function monitor(
  results: boolean[],
  clock: ManualClock,
  opts: { rise?: number; fall?: number; slowStartMs?: number } = {},
) {
  return new HealthMonitor([ORIGIN], {
    intervalMs: 1000,
    timeoutMs: 100,
    rise: opts.rise ?? 2,
    fall: opts.fall ?? 3,
    slowStartMs: opts.slowStartMs ?? 0,
  }, {
    probe: () => Promise.resolve(results.shift() ?? true),
    now: clock.now,
    log: silentLogger,
  });
}

Deno.test("HealthMonitor: fall consecutive failed checks take an origin down, rise successes bring it back", async () => {
  const clock = new ManualClock();
  const m = monitor(
    [false, false, true, false, false, false, true, true],
    clock,
  );
  for (const expectUp of [true, true, true, true, true, false, false, true]) {
    await m.checkAll();
    assert.equal(m.isUp(ORIGIN.id), expectUp);
  }
  await m.close();
});

Deno.test("HealthMonitor: a probe slower than timeoutMs fails", async () => {
  const m = new HealthMonitor([ORIGIN], {
    intervalMs: 1000,
    timeoutMs: 20,
    rise: 1,
    fall: 1,
    slowStartMs: 0,
  }, {
    probe: (_o, signal) =>
      new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(new Error("aborted")))
      ),
    log: silentLogger,
  });
  await m.checkAll();
  assert.equal(m.isUp(ORIGIN.id), false);
  assert.match(m.snapshot()[0]!.lastError!, /timed out after 20 ms/);
  await m.close();
});

Deno.test("HealthMonitor: a connect error marks down at once; slow start ramps the weight after recovery", async () => {
  const clock = new ManualClock();
  const m = monitor([true], clock, { rise: 1, slowStartMs: 10_000 });
  assert.equal(m.weightFactor(ORIGIN.id), 1, "no slow start at boot");
  m.reportFailure(ORIGIN.id, "connect error", true);
  assert.equal(m.isUp(ORIGIN.id), false);
  assert.equal(m.weightFactor(ORIGIN.id), 0);
  await m.checkAll();
  assert.equal(m.isUp(ORIGIN.id), true);
  assert.equal(m.weightFactor(ORIGIN.id), 0);
  clock.advance(2_500);
  assert.equal(m.weightFactor(ORIGIN.id), 0.25);
  clock.advance(10_000);
  assert.equal(m.weightFactor(ORIGIN.id), 1);
  await m.close();
});

Deno.test("HealthMonitor.reportSuspect(): runs one active check, at most one per SUSPECT_CHECK_MIN_GAP_MS; only the check counts", async () => {
  const clock = new ManualClock();
  let probes = 0;
  const results = [true, false, false];
  const m = new HealthMonitor([ORIGIN], {
    intervalMs: 1000,
    timeoutMs: 100,
    rise: 1,
    fall: 2,
    slowStartMs: 0,
  }, {
    probe: () => {
      probes++;
      return Promise.resolve(results.shift() ?? true);
    },
    now: clock.now,
    log: silentLogger,
  });
  for (let i = 0; i < 10; i++) m.reportSuspect(ORIGIN.id, "status 502");
  await m.settled();
  assert.equal(probes, 1, "a burst asks for one check");
  assert.equal(m.isUp(ORIGIN.id), true, "the check passed");
  m.reportSuspect(ORIGIN.id, "status 502");
  await m.settled();
  assert.equal(probes, 1, "not again within the gap");
  clock.advance(SUSPECT_CHECK_MIN_GAP_MS);
  m.reportSuspect(ORIGIN.id, "status 503");
  await m.settled();
  assert.equal(probes, 2);
  assert.equal(m.isUp(ORIGIN.id), true, "one failed check of fall 2");
  clock.advance(SUSPECT_CHECK_MIN_GAP_MS);
  m.reportSuspect(ORIGIN.id, "status 503");
  await m.settled();
  assert.equal(m.isUp(ORIGIN.id), false, "two failed checks");
  await m.close();
  m.reportSuspect(ORIGIN.id, "after close");
  assert.equal(probes, 3, "nothing after close");
});
