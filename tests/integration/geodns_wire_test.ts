/**
 * The scheduler's DNS listeners fed hand-built bytes over real sockets (UDP via
 * `Deno.listenDatagram`, TCP via `Deno.connect`); every reply is parsed with dns-packet.
 */
import assert from "node:assert/strict";
import { decodePacket } from "../../scheduler/dns/packet.ts";
import { rawQuery, tcpAsk, udpAsk, wireName } from "../_helpers/dns_wire.ts";
import { withGeoDns } from "./_geodns.ts";

/** `a…a.a…a.….meridian.test.` of exactly `wireBytes` octets. */
function inZoneName(wireBytes: number): number[] {
  const tail = wireName(["meridian", "test"]);
  const labels: number[][] = [];
  let left = wireBytes - tail.length;
  while (left > 0) {
    const len = Math.min(63, left - 1);
    labels.push(new Array(len).fill(0x61));
    left -= len + 1;
  }
  const name = [...wireName(labels).slice(0, -1), ...tail];
  assert.equal(name.length, wireBytes);
  return name;
}

Deno.test("scheduler DNS answers FORMERR to a 256-octet name over UDP and TCP, NXDOMAIN to 255", async () => {
  await withGeoDns({}, async (s) => {
    const at255 = decodePacket(
      await udpAsk(s.dnsPort, rawQuery(inZoneName(255), 1)),
    );
    assert.equal(at255.rcode, "NXDOMAIN", "a 255-octet name is a name");
    const q = rawQuery(inZoneName(256), 1, { id: 0x1256 });
    for (
      const reply of [await udpAsk(s.dnsPort, q), await tcpAsk(s.dnsPort, q)]
    ) {
      assert.ok(reply);
      const p = decodePacket(reply);
      assert.equal(p.id, 0x1256);
      assert.equal(p.rcode, "FORMERR");
      assert.equal(p.answers?.length ?? 0, 0);
      assert.equal(p.authorities?.length ?? 0, 0);
    }
  });
});

Deno.test("scheduler DNS answers names with '.', '\\', \\000 and \\195 in a label with replies that parse and echo the question", async () => {
  await withGeoDns({}, async (s) => {
    const cases: [(string | number[])[], number, string][] = [
      [[[0], "meridian", "test"], 1, "NXDOMAIN"],
      [[[195], "meridian", "test"], 1, "NXDOMAIN"],
      [["a.b", "meridian", "test"], 1, "NXDOMAIN"],
      [["x\\", "meridian", "test"], 16, "NXDOMAIN"],
      [["x.cdn", "meridian", "test"], 1, "NXDOMAIN"],
      [[[0, 0x2e, 0xff], "cdn", "meridian", "test"], 1, "NOERROR"],
    ];
    for (const [labels, qtype, rcode] of cases) {
      const name = wireName(labels);
      const q = rawQuery(name, qtype, { edns: true });
      for (
        const reply of [await udpAsk(s.dnsPort, q), await tcpAsk(s.dnsPort, q)]
      ) {
        assert.ok(reply);
        const p = decodePacket(reply);
        assert.equal(p.rcode, rcode, JSON.stringify(labels));
        const end = 12 + name.length + 4;
        assert.deepEqual([...reply.subarray(12, end)], [
          ...q.subarray(12, end),
        ]);
        if (rcode === "NOERROR") {
          assert.equal(p.answers!.length, 1, "the wildcard answers");
          assert.deepEqual([...reply.subarray(end, end + 2)], [0xc0, 12]);
        } else {
          assert.equal(p.authorities![0]!.type, "SOA");
          assert.equal(p.authorities![0]!.name, "meridian.test");
        }
      }
    }
  });
});
