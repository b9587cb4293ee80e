import assert from "node:assert/strict";
import { SCHEDULER_DEFAULTS } from "../../../config/scheduler_schema.ts";
import { parseIp } from "../../../geo/mod.ts";
import {
  type ResponseClass,
  ResponseKind,
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

const cls = (kind: ResponseKind, name = "", qtype = 0): ResponseClass => ({
  kind,
  name,
  qtype,
});

Deno.test("ResponseRateLimiter keys buckets by network and response class: a busy resolver's many names pass", () => {
  const rrl = new ResponseRateLimiter(CONFIG, () => 0);
  const resolver = parseIp("198.51.100.7")!.bytes;
  // 40 names × 10 answers: 400 responses to one /24, each name within its own limit.
  for (let i = 0; i < 40; i++) {
    for (let k = 0; k < 10; k++) {
      assert.equal(
        rrl.check(resolver, cls(ResponseKind.Answer, `n${i}.meridian.test`, 1)),
        "send",
        `name ${i}, answer ${k}`,
      );
    }
  }
  assert.equal(
    rrl.check(resolver, cls(ResponseKind.Answer, "n0.meridian.test", 28)),
    "send",
    "another type of the same name has its own bucket",
  );
  assert.deepEqual(
    [0, 1].map(() =>
      rrl.check(resolver, cls(ResponseKind.Answer, "n0.meridian.test", 1))
    ),
    ["drop", "slip"],
    "one name's flood is still limited",
  );
});

Deno.test("ResponseRateLimiter counts NXDOMAIN per zone, errors per network, and keeps networks apart", () => {
  const rrl = new ResponseRateLimiter(CONFIG, () => 0);
  const victim = parseIp("203.0.113.9")!.bytes;
  // Random non-existent names all count against the zone (the handler classes them so).
  const nx = Array.from(
    { length: 12 },
    () => rrl.check(victim, cls(ResponseKind.Nxdomain, "meridian.test")),
  );
  assert.equal(nx.filter((d) => d === "send").length, 10);
  assert.equal(
    rrl.check(victim, cls(ResponseKind.Nodata, "live.meridian.test", 28)),
    "send",
  );
  const errors = Array.from(
    { length: 12 },
    (_, i) => rrl.check(victim, cls(ResponseKind.Error, `ignored${i}.example`)),
  );
  assert.equal(
    errors.filter((d) => d === "send").length,
    10,
    "errors: one bucket per network",
  );
  assert.equal(
    rrl.check(
      parseIp("203.0.114.9")!.bytes,
      cls(ResponseKind.Nxdomain, "meridian.test"),
    ),
    "send",
    "another /24",
  );
  assert.equal(
    rrl.check(
      parseIp("203.0.113.200")!.bytes,
      cls(ResponseKind.Nxdomain, "meridian.test"),
    ),
    "drop",
    "the same /24",
  );
  const v6 = new ResponseRateLimiter(CONFIG, () => 0);
  const a6 = parseIp("2001:db8:0:ab00::1")!.bytes;
  const same56 = parseIp("2001:db8:0:abff::2")!.bytes;
  for (let i = 0; i < 10; i++) {
    assert.equal(
      v6.check(i % 2 ? a6 : same56, cls(ResponseKind.Answer, "x", 1)),
      "send",
    );
  }
  assert.equal(
    v6.check(a6, cls(ResponseKind.Answer, "x", 1)),
    "drop",
    "one /56",
  );
  assert.equal(
    v6.check(
      parseIp("2001:db8:0:ac00::1")!.bytes,
      cls(ResponseKind.Answer, "x", 1),
    ),
    "send",
  );
});
