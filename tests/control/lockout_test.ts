import assert from "node:assert/strict";
import { FailureLockout } from "../../control/mod.ts";

const OPTS = { maxFailures: 3, windowSeconds: 60, lockSeconds: 300 };

Deno.test("FailureLockout locks a client at maxFailures within the window", () => {
  let now = 0;
  const l = new FailureLockout(OPTS, () => now);
  assert.equal(l.recordFailure("a"), false);
  assert.equal(l.recordFailure("a"), false);
  assert.equal(l.retryAfterSeconds("a"), 0);
  assert.equal(l.recordFailure("a"), true);
  assert.equal(l.retryAfterSeconds("a"), 300);
  assert.equal(l.retryAfterSeconds("b"), 0);
  now = 299_001;
  assert.equal(l.retryAfterSeconds("a"), 1);
  now = 300_000;
  assert.equal(l.retryAfterSeconds("a"), 0);
});

Deno.test("FailureLockout forgets failures older than the window", () => {
  let now = 0;
  const l = new FailureLockout(OPTS, () => now);
  l.recordFailure("a");
  l.recordFailure("a");
  now = 60_000;
  assert.equal(l.recordFailure("a"), false);
  assert.equal(l.recordFailure("a"), false);
  assert.equal(l.recordFailure("a"), true);
});

Deno.test("FailureLockout.recordSuccess() clears a client's failures", () => {
  const l = new FailureLockout(OPTS, () => 0);
  l.recordFailure("a");
  l.recordFailure("a");
  l.recordSuccess("a");
  assert.equal(l.recordFailure("a"), false);
  assert.equal(l.size, 1);
});

Deno.test("FailureLockout keeps its memory bounded", () => {
  const l = new FailureLockout(OPTS, () => 0);
  for (let i = 0; i < 10_050; i++) l.recordFailure(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(l.size, 10_000);
});
