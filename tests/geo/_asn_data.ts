/**
 * Prefixes of known networks taken from the shipped ASN data (npm @ip-location-db/asn), so
 * tests ask with real carriers' addresses without hard-coding them.
 *
 * @module
 */
import { findDefaultAsnDatabase } from "../../geo/mod.ts";

/** The shipped IPv4 file, or `undefined` when the package is not installed. */
export const ASN_V4_FILE = findDefaultAsnDatabase("asn-ipv4-num.csv");

let text: string | undefined;

/**
 * Start addresses of the IPv4 ranges of `asn` in the shipped file, in file order.
 * @throws {Error} When the file is missing or holds no range of `asn`.
 */
export async function rangesOf(
  asn: number,
  count = 1,
): Promise<{ start: string; end: string }[]> {
  if (!ASN_V4_FILE) throw new Error("npm @ip-location-db/asn is not installed");
  text ??= await Deno.readTextFile(ASN_V4_FILE);
  const out: { start: string; end: string }[] = [];
  const re = new RegExp(`^(\\d+),(\\d+),${asn},`, "gm");
  for (const m of text.matchAll(re)) {
    out.push({ start: dotted(Number(m[1])), end: dotted(Number(m[2])) });
    if (out.length >= count) break;
  }
  if (!out.length) throw new Error(`AS${asn} not in ${ASN_V4_FILE}`);
  return out;
}

/** The start address of the first IPv4 range of `asn`. */
export async function firstRangeOf(asn: number): Promise<string> {
  return (await rangesOf(asn))[0]!.start;
}

function dotted(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}
