import assert from "node:assert/strict";
import { FailureLockout } from "../../../net/mod.ts";

const OPTS = { maxFailures: 3, windowSeconds: 60, lockSeconds: 300 };

Deno.test("FailureLockout.judge() locks a client's wrong secrets at maxFailures within the window", () => {
  let now = 0;
  const l = new FailureLockout(OPTS, () => now);
  assert.deepEqual(l.judge("a", false), { kind: "wrong", lockedNow: false });
  assert.deepEqual(l.judge("a", false), { kind: "wrong", lockedNow: false });
  assert.equal(l.retryAfterSeconds("a"), 0);
  assert.deepEqual(l.judge("a", false), { kind: "wrong", lockedNow: true });
  assert.equal(l.retryAfterSeconds("a"), 300);
  assert.deepEqual(l.judge("a", false), {
    kind: "locked",
    retryAfterSeconds: 300,
  });
  assert.equal(l.retryAfterSeconds("b"), 0);
  now = 299_001;
  assert.equal(l.retryAfterSeconds("a"), 1);
  now = 300_000;
  assert.equal(l.retryAfterSeconds("a"), 0);
  assert.deepEqual(l.judge("a", false), { kind: "wrong", lockedNow: false });
});

Deno.test("FailureLockout.judge(): the right secret passes while its address is locked out, and the lock stays", () => {
  let now = 0;
  const l = new FailureLockout(OPTS, () => now);
  for (let i = 0; i < 3; i++) l.judge("10.0.0.1", false);
  assert.deepEqual(l.judge("10.0.0.1", true), { kind: "pass" });
  assert.equal(
    l.retryAfterSeconds("10.0.0.1"),
    300,
    "the guesser stays locked",
  );
  now = 100_000;
  assert.deepEqual(l.judge("10.0.0.1", true), { kind: "pass" });
  assert.equal(l.judge("10.0.0.1", false).kind, "locked");
});

Deno.test("FailureLockout forgets failures older than the window", () => {
  let now = 0;
  const l = new FailureLockout(OPTS, () => now);
  l.judge("a", false);
  l.judge("a", false);
  now = 60_000;
  assert.equal(l.judge("a", false).kind, "wrong");
  assert.equal(l.judge("a", false).kind, "wrong");
  assert.deepEqual(l.judge("a", false), { kind: "wrong", lockedNow: true });
});

Deno.test("FailureLockout: a right secret clears the count of a client that is not locked", () => {
  const l = new FailureLockout(OPTS, () => 0);
  l.judge("a", false);
  l.judge("a", false);
  l.judge("a", true);
  assert.equal(l.size, 0);
  assert.deepEqual(l.judge("a", false), { kind: "wrong", lockedNow: false });
  assert.equal(l.size, 1);
});

Deno.test("FailureLockout keeps its memory bounded", () => {
  const l = new FailureLockout(OPTS, () => 0);
  for (let i = 0; i < 10_050; i++) l.judge(`10.0.${i >> 8}.${i & 255}`, false);
  assert.equal(l.size, 10_000);
});
