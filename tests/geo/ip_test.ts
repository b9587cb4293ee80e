import assert from "node:assert/strict";
import {
  cidrContains,
  formatIp,
  IpParseError,
  isReservedIp,
  maskBytes,
  parseCidr,
  parseIp,
} from "../../geo/mod.ts";

Deno.test("parseIp() and formatIp() round-trip v4 and v6 (RFC 5952 text)", () => {
  for (
    const t of [
      "0.0.0.0",
      "81.2.69.142",
      "2001:db8::1",
      "::",
      "::1",
      "2a00:1450:4001:81b::200e",
      "1:0:0:1:0:0:0:1",
    ]
  ) {
    const b = parseIp(t)!;
    assert.ok(b, t);
    assert.equal(parseIp(formatIp(b.bytes))!.bytes.join(), b.bytes.join(), t);
  }
  assert.equal(
    formatIp(parseIp("2001:0db8:0:0:0:0:0:1")!.bytes),
    "2001:db8::1",
  );
  assert.equal(formatIp(parseIp("::ffff:1.2.3.4")!.bytes), "::ffff:102:304");
  for (
    const bad of [
      "1.2.3",
      "256.1.1.1",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "x",
      "01.2.3.4444",
    ]
  ) assert.equal(parseIp(bad), undefined, bad);
});

Deno.test("parseCidr() rejects host bits and bad lengths; cidrContains() and maskBytes() agree", () => {
  const c = parseCidr("81.2.68.0/22");
  assert.ok(cidrContains(c, parseIp("81.2.71.255")!.bytes));
  assert.ok(!cidrContains(c, parseIp("81.2.72.0")!.bytes));
  assert.deepEqual([...maskBytes(parseIp("81.2.71.9")!.bytes, 22)], [
    81,
    2,
    68,
    0,
  ]);
  assert.throws(() => parseCidr("81.2.69.1/24"), IpParseError);
  assert.throws(() => parseCidr("81.2.69.0/33"), IpParseError);
  assert.equal(parseCidr("2001:db8::/32").prefixLength, 32);
});

Deno.test("isReservedIp() knows private, loopback, documentation and ULA ranges", () => {
  for (
    const r of [
      "10.1.2.3",
      "172.31.0.1",
      "192.168.0.1",
      "127.0.0.1",
      "100.64.0.1",
      "169.254.1.1",
      "203.0.113.9",
      "::1",
      "fd00::1",
      "fe80::1",
    ]
  ) {
    assert.ok(isReservedIp(parseIp(r)!.bytes), r);
  }
  for (const p of ["8.8.8.8", "81.2.69.142", "2a00:1450::1"]) {
    assert.ok(!isReservedIp(parseIp(p)!.bytes), p);
  }
});
