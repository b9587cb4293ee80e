import assert from "node:assert/strict";
import { SCHEDULER_DEFAULTS } from "../../../config/scheduler_schema.ts";
import { parseIp } from "../../../geo/mod.ts";
import {
  ResponseRateLimiter,
  slipResponse,
} from "../../../scheduler/server/rate_limit.ts";

const CONFIG = {
  ...SCHEDULER_DEFAULTS.dns.rateLimit,
  responsesPerSecond: 10,
  windowSeconds: 1,
  slip: 2,
  exempt: ["127.0.0.0/8"],
};

Deno.test("ResponseRateLimiter limits per /24, slips every 2nd, refills with time", () => {
  let now = 0;
  const rrl = new ResponseRateLimiter(CONFIG, () => now);
  const a = parseIp("198.51.100.7")!.bytes;
  const sameNet = parseIp("198.51.100.200")!.bytes;
  for (let i = 0; i < 10; i++) {
    assert.equal(rrl.check(i % 2 ? a : sameNet), "send");
  }
  assert.deepEqual([rrl.check(a), rrl.check(a), rrl.check(a), rrl.check(a)], [
    "drop",
    "slip",
    "drop",
    "slip",
  ]);
  assert.equal(
    rrl.check(parseIp("198.51.101.1")!.bytes),
    "send",
    "another /24 has its own bucket",
  );
  assert.equal(rrl.check(parseIp("127.0.0.1")!.bytes), "send", "exempt");
  now += 500;
  assert.equal(rrl.check(a), "send", "refilled");
});

Deno.test("slipResponse() keeps header and question, sets TC, drops every record", () => {
  const r = new Uint8Array([
    0,
    1,
    0x84,
    0,
    0,
    1,
    0,
    1,
    0,
    0,
    0,
    1,
    1,
    0x61,
    0,
    0,
    1,
    0,
    1,
    9,
    9,
    9,
    9,
  ]);
  assert.deepEqual([...slipResponse(r)], [
    0,
    1,
    0x86,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    0x61,
    0,
    0,
    1,
    0,
    1,
  ]);
});
