import assert from "node:assert/strict";
import { RRClass, RRType } from "../../../scheduler/dns/constants.ts";
import { DnsEncodeError } from "../../../scheduler/dns/errors.ts";
import { dataOf, decodePacket } from "../../../scheduler/dns/packet.ts";
import {
  encodeTemplate,
  QUESTION_NAME,
  type TemplateRecord,
} from "../../../scheduler/dns/template.ts";

const X_TEST = [1, 0x78, 4, 0x74, 0x65, 0x73, 0x74, 0]; // x.test.

Deno.test("encodeTemplate() writes NS with glue compressed, byte for byte", () => {
  const t = encodeTemplate({
    questionName: new Uint8Array(X_TEST),
    qtype: RRType.NS,
    qclass: RRClass.IN,
    authoritative: true,
    rcode: 0,
    answers: [{
      owner: QUESTION_NAME,
      type: RRType.NS,
      ttl: 3600,
      data: "ns1.x.test",
    }],
    additionals: [{
      owner: "ns1.x.test",
      type: RRType.A,
      ttl: 3600,
      data: "192.0.2.1",
    }],
  });
  assert.deepEqual([...t], [
    ...[0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 1], // QR AA, one question/answer/additional
    ...X_TEST, // @12
    ...[0, 2, 0, 1],
    ...[0xc0, 12, 0, 2, 0, 1, 0, 0, 0x0e, 0x10, 0, 6], // owner → question; RDLENGTH 6
    ...[3, 0x6e, 0x73, 0x31, 0xc0, 12], // @36 ns1 + → x.test
    ...[0xc0, 36, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1], // owner → ns1.x.test
  ]);
  const p = decodePacket(t);
  assert.equal(p.answers![0]!.name, "x.test");
  assert.equal(p.answers![0]!.data, "ns1.x.test");
  assert.equal(p.additionals![0]!.name, "ns1.x.test");
  assert.equal(p.additionals![0]!.data, "192.0.2.1");
});

Deno.test("encodeTemplate() keeps any label bytes of the question and points owners at it", () => {
  // Labels "\000", "a.b", "\\", "\255" and "UP" (stored lower case) under x.test.
  const name = [
    1,
    0,
    3,
    0x61,
    0x2e,
    0x62,
    1,
    0x5c,
    1,
    0xff,
    2,
    0x55,
    0x50,
    ...X_TEST,
  ];
  const t = encodeTemplate({
    questionName: new Uint8Array(name),
    qtype: RRType.TXT,
    qclass: RRClass.IN,
    authoritative: true,
    rcode: 0,
    answers: [{
      owner: QUESTION_NAME,
      type: RRType.TXT,
      ttl: 1,
      data: ["é".repeat(200)], // 400 bytes of UTF-8: two character-strings
    }],
    authorities: [{
      owner: "x.test",
      type: RRType.SOA,
      ttl: 60,
      data: {
        mname: "ns1.x.test",
        rname: "hostmaster.x.test",
        serial: 1,
        refresh: 2,
        retry: 3,
        expire: 4,
        minimum: 5,
      },
    }],
  });
  const lower = name.map((b) => (b === 0x55 ? 0x75 : b === 0x50 ? 0x70 : b));
  assert.deepEqual([...t.subarray(12, 12 + name.length)], lower);
  const answerAt = 12 + name.length + 4;
  assert.deepEqual([...t.subarray(answerAt, answerAt + 2)], [0xc0, 12]);
  const p = decodePacket(t);
  assert.equal(p.answers![0]!.type, "TXT");
  const strings = p.answers![0]!.data as Uint8Array[];
  assert.deepEqual(strings.map((s) => s.length), [255, 145]);
  assert.equal(p.authorities![0]!.name, "x.test");
  const soa = dataOf(p.authorities?.[0], "SOA");
  assert.equal(soa.rname, "hostmaster.x.test");
  assert.equal(soa.minimum, 5);
  // x.test in the SOA owner, mname and rname: each a pointer into the question.
  const soaAt = t.length - (2 + 10 + 6 + 13 + 20);
  assert.deepEqual([...t.subarray(soaAt, soaAt + 2)], [
    0xc0,
    12 + name.length - X_TEST.length,
  ]);
});

Deno.test("encodeTemplate() writes MX, CAA, HINFO, AAAA and CHAOS TXT that dns-packet reads back", () => {
  const t = encodeTemplate({
    questionName: new Uint8Array(X_TEST),
    qtype: RRType.ANY,
    qclass: RRClass.IN,
    authoritative: false,
    rcode: 3,
    answers: [
      {
        owner: QUESTION_NAME,
        type: RRType.MX,
        ttl: 1,
        data: { preference: 10, exchange: "mail.x.test" },
      },
      {
        owner: QUESTION_NAME,
        type: RRType.CAA,
        ttl: 1,
        data: { flags: 0, tag: "issue", value: "ca.example" },
      },
      {
        owner: QUESTION_NAME,
        type: RRType.HINFO,
        ttl: 1,
        data: { cpu: "RFC8482", os: "" },
      },
      {
        owner: "mail.x.test",
        type: RRType.AAAA,
        ttl: 1,
        data: "2001:db8::1",
      },
      {
        owner: QUESTION_NAME,
        type: RRType.TXT,
        class: RRClass.CH,
        ttl: 0,
        data: ["Meridian"],
      },
    ],
  });
  const p = decodePacket(t);
  assert.equal(p.flag_aa, false);
  assert.equal(p.rcode, "NXDOMAIN");
  const [mx, caa, hinfo, aaaa, txt] = p.answers!;
  assert.deepEqual(mx!.data, { preference: 10, exchange: "mail.x.test" });
  assert.equal(dataOf(caa, "CAA").value, "ca.example");
  assert.equal(dataOf(caa, "CAA").tag, "issue");
  assert.deepEqual(hinfo!.data, { cpu: "RFC8482", os: "" });
  assert.equal(aaaa!.name, "mail.x.test");
  assert.equal(aaaa!.data, "2001:db8::1");
  assert.equal(txt!.class, "CH");
});

Deno.test("encodeTemplate() refuses data that does not fit its type", () => {
  const spec = (data: unknown, type: number = RRType.A) => () =>
    encodeTemplate({
      questionName: new Uint8Array(X_TEST),
      qtype: type,
      qclass: 1,
      authoritative: true,
      rcode: 0,
      // Deliberately mistyped: what a bug upstream of the encoder would hand it.
      answers: [
        {
          owner: QUESTION_NAME,
          type,
          ttl: 1,
          data,
        } as unknown as TemplateRecord,
      ],
    });
  assert.throws(spec("2001:db8::1"), DnsEncodeError);
  assert.throws(spec("a..b", RRType.CNAME), DnsEncodeError);
  assert.throws(spec(`${"a".repeat(64)}.test`, RRType.CNAME), DnsEncodeError);
  assert.throws(spec("x", 99), /Cannot encode RDATA of type 99/);
});
