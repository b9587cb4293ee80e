/**
 * The scheduler's DNS answers as dig and kdig see them: names with awkward label bytes,
 * compressed answers (sizes beside PowerDNS's for the same zone).
 */
import assert from "node:assert/strict";
import { dig, hasDnsPeer } from "../_helpers/dns_wire.ts";
import type { SchedulerConfig } from "../../config/scheduler_schema.ts";
import { runPeer } from "../_helpers/peers.ts";
import { testConfig } from "../scheduler/_fixtures.ts";
import { withGeoDns } from "./_geodns.ts";

const HAVE_DIG = await hasDnsPeer("dig");
const HAVE_KDIG = await hasDnsPeer("kdig");
if (!HAVE_DIG || !HAVE_KDIG) {
  console.warn(
    "SKIP geodns dig tests: dig or kdig not on PATH (apt-get install bind9-dnsutils knot-dnsutils)",
  );
}

const size = (out: string) => Number(/MSG SIZE\s+rcvd: (\d+)/.exec(out)?.[1]);

Deno.test({
  name:
    "scheduler answers dig and kdig for names with escaped label bytes without a malformed reply",
  ignore: !HAVE_DIG || !HAVE_KDIG,
  async fn() {
    await withGeoDns({}, async (s) => {
      for (
        const name of [
          "\\000.meridian.test",
          "\\195.meridian.test",
          "a\\.b.meridian.test",
          "x\\\\.meridian.test",
        ]
      ) {
        const out = await dig(s.dnsPort, name, "A");
        assert.doesNotMatch(out, /malformed|parse error|Message parser/i, out);
        assert.match(out, /status: NXDOMAIN/, name);
        assert.ok(
          out.includes(`;${name}.`),
          `question shown as ${name}: ${out}`,
        );
        const k = await runPeer("kdig", [
          "@127.0.0.1",
          "-p",
          String(s.dnsPort),
          "+tcp",
          name,
          "A",
        ], 15_000);
        assert.equal(k.code, 0, k.stderr);
        assert.match(k.stdout, /status: NXDOMAIN/);
        assert.doesNotMatch(k.stdout + k.stderr, /malformed|failed/i);
      }
      const wild = await dig(
        s.dnsPort,
        "\\000\\.x.cdn.meridian.test",
        "A",
        "+noall",
        "+answer",
      );
      assert.match(
        wild,
        /^\\000\\\.x\.cdn\.meridian\.test\.\s+20\s+IN\s+A\s+192\.0\.2\.\d$/m,
      );
    });
  },
});

Deno.test({
  name:
    "scheduler compresses names: apex NS with glue is 76 bytes (PowerDNS 4.7.3: 76), NXDOMAIN with SOA 98",
  ignore: !HAVE_DIG,
  async fn() {
    await withGeoDns({}, async (s) => {
      // Uncompressed these were 119 and 137 bytes (dig's EDNS query, OPT echoed).
      const ns = await dig(s.dnsPort, "meridian.test", "NS");
      assert.match(ns, /ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 2/);
      assert.match(ns, /ns1\.meridian\.test\.\s+3600\s+IN\s+A\s+127\.0\.0\.1/);
      assert.equal(size(ns), 76);
      const nx = await dig(s.dnsPort, "nope.meridian.test", "A");
      assert.equal(size(nx), 98);
      const live = await dig(
        s.dnsPort,
        "live.meridian.test",
        "A",
        "+subnet=81.2.69.0/24",
      );
      assert.match(live, /ANSWER: 2,/);
      assert.equal(size(live), 90, "steered answers too");
    });
  },
});

/** The fixture zone with `sub` delegated to ns.sub (glue here) and ns.example.net. */
function delegatedZone(): Partial<SchedulerConfig> {
  const zone = testConfig().zones[0]!;
  return {
    zones: [{
      ...zone,
      records: [
        ...zone.records,
        { name: "sub", type: "NS", ttl: 300, value: "ns.sub" },
        { name: "sub", type: "NS", ttl: 300, value: "ns.example.net." },
        { name: "ns.sub", type: "A", ttl: 300, value: "192.0.2.53" },
      ],
    }],
  };
}

Deno.test({
  name:
    "scheduler refers dig to the child's name servers for names below an NS record (AA clear, glue), as gdnsd and PowerDNS do",
  ignore: !HAVE_DIG,
  async fn() {
    await withGeoDns(delegatedZone(), async (s) => {
      for (
        const [name, type] of [["www.sub.meridian.test", "A"], [
          "sub.meridian.test",
          "NS",
        ]]
      ) {
        const out = await dig(s.dnsPort, name!, type!, "+norec");
        assert.match(out, /status: NOERROR/, out);
        assert.match(out, /flags: qr;/, "no aa on a referral");
        assert.match(out, /ANSWER: 0, AUTHORITY: 2, ADDITIONAL: 2/);
        assert.match(
          out,
          /AUTHORITY SECTION:\nsub\.meridian\.test\.\s+300\s+IN\s+NS\s+ns\.sub\.meridian\.test\.\nsub\.meridian\.test\.\s+300\s+IN\s+NS\s+ns\.example\.net\./,
        );
        assert.match(
          out,
          /ADDITIONAL SECTION:\nns\.sub\.meridian\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.53/,
        );
      }
      const apex = await dig(s.dnsPort, "live.meridian.test", "A", "+norec");
      assert.match(apex, /flags: qr aa;/, "the rest of the zone stays ours");
    });
  },
});

Deno.test({
  name:
    "scheduler follows in-zone CNAME chains for dig and kdig: www → live answers with the steered edges, a → b → mail with its A",
  ignore: !HAVE_DIG || !HAVE_KDIG,
  async fn() {
    const zone = testConfig().zones[0]!;
    const chained: Partial<SchedulerConfig> = {
      zones: [{
        ...zone,
        records: [
          ...zone.records,
          { name: "a", type: "CNAME", ttl: 60, value: "b" },
          { name: "b", type: "CNAME", ttl: 60, value: "mail" },
        ],
      }],
    };
    await withGeoDns(chained, async (s) => {
      const www = await dig(
        s.dnsPort,
        "www.meridian.test",
        "A",
        "+subnet=81.2.69.0/24",
        "+noall",
        "+answer",
      );
      assert.match(
        www,
        /^www\.meridian\.test\.\s+300\s+IN\s+CNAME\s+live\.meridian\.test\.\nlive\.meridian\.test\.\s+30\s+IN\s+A\s+192\.0\.2\.1\nlive\.meridian\.test\.\s+30\s+IN\s+A\s+192\.0\.2\.2$/m,
      );
      const k = await runPeer("kdig", [
        "@127.0.0.1",
        "-p",
        String(s.dnsPort),
        "+tcp",
        "a.meridian.test",
        "A",
      ], 15_000);
      assert.equal(k.code, 0, k.stderr);
      assert.match(k.stdout, /status: NOERROR/);
      assert.match(
        k.stdout,
        /a\.meridian\.test\.\s+60\s+IN\s+CNAME\s+b\.meridian\.test\.\nb\.meridian\.test\.\s+60\s+IN\s+CNAME\s+mail\.meridian\.test\.\nmail\.meridian\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.25/,
      );
    });
  },
});

/** RRL on for loopback: 5 responses per second and class, burst 5, every 2nd limited one slipped. */
function strictRrl(): Partial<SchedulerConfig> {
  const dns = testConfig().dns;
  return {
    dns: {
      ...dns,
      rateLimit: {
        ...dns.rateLimit,
        responsesPerSecond: 5,
        windowSeconds: 1,
        slip: 2,
        exempt: [],
      },
    },
  };
}

Deno.test({
  name:
    "scheduler RRL lets one busy resolver (dig -f) ask 12 names twice each without a drop or TC, and still limits one name's flood",
  ignore: !HAVE_DIG,
  async fn() {
    const questions = [
      "live.meridian.test A",
      "live.meridian.test AAAA",
      "mail.meridian.test A",
      "ns1.meridian.test A",
      "www.meridian.test A",
      "meridian.test SOA",
      "meridian.test NS",
      "meridian.test TXT",
      "meridian.test MX",
      "meridian.test CAA",
      "a.b.deep.meridian.test A",
      "x.cdn.meridian.test A",
    ];
    const batch = await Deno.makeTempFile({ suffix: ".dig" });
    try {
      await Deno.writeTextFile(
        batch,
        [...questions, ...questions].join("\n") + "\n",
      );
      await withGeoDns(strictRrl(), async (s) => {
        const out = await dig(s.dnsPort, "+ignore", "-f", batch);
        assert.equal(out.match(/status: NOERROR/g)?.length, 24, out);
        assert.doesNotMatch(out, /flags: [a-z ]*\btc\b/, "no answer slipped");
        assert.doesNotMatch(out, /timed out|no servers could be reached/);
        // One name asked 20 times in a row: the bucket of 5 empties and answers are dropped
        // (each drop costs dig a second, in which the bucket refills).
        const flood = await runPeer("dig", [
          "@127.0.0.1",
          "-p",
          String(s.dnsPort),
          "+time=1",
          "+tries=1",
          "+ignore",
          ...Array.from({ length: 20 }, () => ["mail.meridian.test", "A"])
            .flat(),
        ], 60_000);
        const answered = flood.stdout.match(/status: NOERROR/g)?.length ?? 0;
        assert.ok(
          answered < 20,
          `the flood is limited (${answered} of 20 answered)`,
        );
        assert.match(flood.stdout, /timed out/, "some dropped");
      });
    } finally {
      await Deno.remove(batch);
    }
  },
});
