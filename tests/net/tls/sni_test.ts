/**
 * selectCertificate(): which certificate answers which server name (RFC 6125 §6.4 matching),
 * table-driven, plus seeded random names that must never throw nor pick a certificate that
 * does not name them.
 */
import assert from "node:assert/strict";
import {
  buildSniTable,
  MAX_SERVER_NAME_LENGTH,
  normalizeServerName,
  selectCertificate,
} from "../../../net/tls/sni.ts";
import { createPrng } from "../../_helpers/prng.ts";

const TABLE = buildSniTable([
  ["live.example.com", "example.com"],
  ["*.cdn.example.com", "cdn.example.com"],
  ["*.example.com"],
  ["LIVE.example.com"], // named by the first certificate already: the first wins
  ["*.cdn.example.com"], // the same wildcard again: the first wins
]);

Deno.test("selectCertificate() picks exact names before wildcards, one label per wildcard", () => {
  const cases: [string, number | undefined][] = [
    ["live.example.com", 0],
    ["LIVE.Example.COM.", 0], // case and the root dot do not matter
    ["example.com", 0],
    ["cdn.example.com", 1],
    ["a.cdn.example.com", 1],
    // Its parent a.cdn.example.com is no wildcard's: neither *.cdn… (two labels) nor *.example….
    ["b.a.cdn.example.com", undefined],
    ["x.example.com", 2],
    ["y.x.example.com", undefined], // a wildcard covers one label only
    [".example.com", undefined], // an empty first label is not covered
    ["other.test", undefined],
    ["", undefined], // no SNI
  ];
  for (const [name, want] of cases) {
    assert.equal(selectCertificate(TABLE, name), want, name);
  }
});

Deno.test("selectCertificate() never looks up a name longer than a DNS name", () => {
  const long = "a".repeat(MAX_SERVER_NAME_LENGTH + 10) + ".example.com";
  assert.equal(selectCertificate(TABLE, long), undefined);
});

Deno.test("selectCertificate() on 3,000 seeded random names: no throw, and a pick always names the host", () => {
  const next = createPrng(0x5e1ec7);
  const labels = [
    "live",
    "cdn",
    "example",
    "com",
    "a",
    "",
    "*",
    "X",
    "xn--d1a",
  ];
  const namesOf = [
    ["live.example.com", "example.com"],
    ["*.cdn.example.com", "cdn.example.com"],
    ["*.example.com"],
  ];
  for (let i = 0; i < 3000; i++) {
    const parts: string[] = [];
    const n = 1 + (next() % 5);
    for (let j = 0; j < n; j++) {
      parts.push(
        next() % 5 === 0
          ? String.fromCharCode(
            ...Array.from({ length: 1 + (next() % 6) }, () => next() % 128),
          )
          : labels[next() % labels.length]!,
      );
    }
    const name = parts.join(next() % 7 === 0 ? ".." : ".");
    const got = selectCertificate(TABLE, name);
    if (got === undefined) continue;
    const host = normalizeServerName(name);
    const covered = namesOf[got]!.some((pattern) =>
      pattern.startsWith("*.")
        ? host.indexOf(".") > 0 &&
          host.slice(host.indexOf(".") + 1) === pattern.slice(2)
        : host === pattern
    );
    assert.ok(covered, `${JSON.stringify(name)} picked ${got}`);
  }
});
