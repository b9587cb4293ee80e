import assert from "node:assert/strict";
import {
  AsnDatabaseError,
  type AsnTable,
  AsnTableBuilder,
  blockPrefix,
  MAX_ASN_LINE_CHARS,
  parseIp,
} from "../../geo/mod.ts";

const CSV = [
  '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."',
  "1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd",
  "1.0.8.0,1.0.15.255,38803,Gtelecom Pty Ltd", // adjacent, same AS: merges
  '2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK"""',
  "2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project",
  // Ends inside a /64: the low 64 bits matter.
  "2001:db9::,2001:db9::7f,64500,Odd End",
].join("\n");

function table(text = CSV, pieces = 1): AsnTable {
  const b = new AsnTableBuilder({ path: "t.csv" });
  const n = Math.ceil(text.length / pieces);
  for (let i = 0; i < text.length; i += n) b.push(text.slice(i, i + n));
  return b.finish();
}
const at = (t: AsnTable, ip: string) => t.lookup(parseIp(ip)!.bytes);

Deno.test("AsnTableBuilder() parses quoted organisations and address bounds, merging adjacent rows", () => {
  const t = table();
  assert.deepEqual(t.size, { v4: 3, v6: 2 });
  assert.deepEqual(at(t, "1.0.0.77"), {
    asn: 13335,
    org: "Cloudflare, Inc.",
    prefixLength: 24,
  });
  // 1.0.4.0-1.0.15.255 after the merge: 1.0.8.0/21 holds 1.0.9.1.
  assert.deepEqual(at(t, "1.0.9.1"), {
    asn: 38803,
    org: "Gtelecom Pty Ltd",
    prefixLength: 21,
  });
  assert.equal(at(t, "1.0.5.1").prefixLength, 22);
  assert.equal(at(t, "2.26.201.1").org, 'LLC "SPUTNIK"');
  assert.equal(at(t, "2001:200:1b9:ff::1").asn, 2500);
  assert.equal(at(t, "2001:db9::7f").asn, 64500);
  assert.equal(at(t, "2001:db9::7f").prefixLength, 121, "128 addresses");
  assert.equal(at(t, "2001:db9::80").asn, 0, "just past the odd end");
});

Deno.test("AsnTable.lookup() scopes an address between ranges to the gap it is in", () => {
  const t = table();
  // The gap 1.0.1.0-1.0.3.255: 1.0.1.0/24 fits, 1.0.2.0/23 fits.
  assert.deepEqual(at(t, "1.0.1.5"), { asn: 0, org: "", prefixLength: 24 });
  assert.deepEqual(at(t, "1.0.2.9"), { asn: 0, org: "", prefixLength: 23 });
  // Before every range and after every range.
  assert.equal(at(t, "0.200.0.1").asn, 0);
  assert.equal(at(t, "0.200.0.1").prefixLength, 8);
  assert.equal(at(t, "200.0.0.1").prefixLength, 1);
  assert.equal(at(t, "::1").asn, 0);
});

Deno.test("AsnTableBuilder() reads numeric bounds per the file's family", () => {
  const v4 = new AsnTableBuilder({ path: "n4.csv", numericFamily: 4 });
  v4.push("16777216,16777471,13335,Cloudflare\n");
  assert.equal(v4.finish().lookup(parseIp("1.0.0.1")!.bytes).asn, 13335);
  const v6 = new AsnTableBuilder({ path: "n6.csv", numericFamily: 6 });
  v6.push(
    "42540488161975842760550356425300246528,42540488241204005274814694018844196863,6939,HE\n",
  );
  const t = v6.finish();
  assert.equal(t.lookup(parseIp("2001::1")!.bytes).asn, 6939);
  assert.equal(t.lookup(parseIp("2001::1")!.bytes).prefixLength, 32);
});

Deno.test("AsnTableBuilder() gives the same table whatever the piece boundaries", () => {
  const whole = table();
  for (const pieces of [2, 3, 7, 50, CSV.length]) {
    const t = table(CSV, pieces);
    assert.deepEqual(t.v4, whole.v4, `pieces ${pieces}`);
    assert.deepEqual(t.v6, whole.v6, `pieces ${pieces}`);
  }
});

Deno.test("AsnTableBuilder() cuts a row overlapping the one before", () => {
  // As the shipped data's 214.95.0.0-215.1.3.255 (AS749) and 215.0.255.0-… (AS721).
  const t = table(
    "214.95.0.0,215.1.3.255,749,DoD\n215.0.255.0,215.1.4.255,721,DoD NIC\n",
  );
  assert.equal(at(t, "215.1.3.255").asn, 749, "the first row keeps its end");
  assert.equal(at(t, "215.1.4.0").asn, 721);
  assert.equal(at(t, "215.1.4.0").prefixLength, 24);
});

Deno.test("AsnTableBuilder() names the file and line of a bad row", () => {
  const cases: [string, RegExp][] = [
    ["1.0.0.0,1.0.0.255,13335,x\nnot,a,row\n", /line 2/],
    ["1.0.0.0,1.0.0.255\n", /start,end,asn/],
    ["1.0.0.0,1.0.0.255,ASN1,x\n", /AS number/],
    ["1.0.0.9,1.0.0.1,1,x\n", /start <= end/],
    ["1.0.0.0,2001::,1,x\n", /IPv4 range end/],
    ["1.0.4.0,1.0.4.255,1,x\n1.0.0.0,1.0.0.255,1,x\n", /ascending order/],
    ['1.0.0.0,1.0.0.255,1,"open quote\n', /start,end,asn/],
    ["300.0.0.0,300.0.0.1,1,x\n", /IP address or number/],
    ["", /no 'start,end,asn,organisation' rows/],
    ["#only a comment\n", /no .* rows/],
    [`1.0.0.0,1.0.0.255,1,${"x".repeat(MAX_ASN_LINE_CHARS)}`, /characters/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => table(text),
      (e: unknown) =>
        e instanceof AsnDatabaseError && e.code === "ASN_DB" &&
        e.message.includes("t.csv") && re.test(e.message),
      text.slice(0, 40),
    );
  }
});

/** Seeded xorshift32. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

Deno.test("blockPrefix() is the shortest prefix whose block fits the range (brute force, seeded)", () => {
  const rnd = prng(22);
  for (let i = 0; i < 300; i++) {
    const a = rnd() % 4096;
    const b = a + (rnd() % 300);
    const addr = a + (rnd() % (b - a + 1));
    let want = 32;
    for (let p = 0; p <= 32; p++) {
      const size = 2 ** (32 - p);
      const first = addr - (addr % size);
      if (first >= a && first + size - 1 <= b) {
        want = p;
        break;
      }
    }
    const w = (n: number) => Uint32Array.of(n);
    assert.equal(blockPrefix(w(addr), w(a), w(b)), want, `${a}-${b} @${addr}`);
    // The same range in the low word of IPv6: 96 more bits of prefix.
    const v6 = (n: number) => Uint32Array.of(0x20010db8, 0, 0, n);
    assert.equal(blockPrefix(v6(addr), v6(a), v6(b)), want + 96);
  }
});

Deno.test("AsnTableBuilder() fuzz: mutated files throw AsnDatabaseError or give sorted disjoint ranges", () => {
  const rnd = prng(0xa5a5);
  const base = new TextEncoder().encode(CSV + "\n");
  for (let i = 0; i < 400; i++) {
    const bytes = base.slice(0, rnd() % (base.length + 1));
    for (let k = rnd() % 6; k > 0; k--) {
      if (bytes.length) bytes[rnd() % bytes.length] = rnd() & 0xff;
    }
    const text = new TextDecoder().decode(bytes);
    let t: AsnTable;
    try {
      t = table(text, 1 + (rnd() % 5));
    } catch (e) {
      assert.ok(e instanceof AsnDatabaseError, String(e));
      continue;
    }
    for (const cols of [t.v4, t.v6]) {
      const w = cols.width;
      for (let r = 0; r < cols.length; r++) {
        const s = [...cols.starts.subarray(r * w, r * w + w)];
        const e = [...cols.ends.subarray(r * w, r * w + w)];
        assert.ok(cmpWords(s, e) <= 0, "start <= end");
        if (r > 0) {
          const pe = [...cols.ends.subarray((r - 1) * w, r * w)];
          assert.ok(cmpWords(pe, s) < 0, "disjoint, ascending");
        }
      }
    }
  }
});

function cmpWords(a: number[], b: number[]): number {
  for (let k = 0; k < a.length; k++) {
    if (a[k] !== b[k]) return a[k]! < b[k]! ? -1 : 1;
  }
  return 0;
}
