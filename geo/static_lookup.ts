/**
 * A geo lookup from a fixed table of networks: tests, demos, and deployments that place their
 * own networks by hand.
 *
 * @module
 */

import {
  type Cidr,
  cidrContains,
  isReservedIp,
  parseCidr,
  parseIp,
} from "./ip.ts";
import type { GeoLookup, GeoRecord, GeoResult } from "./types.ts";

/** One network and where it is. */
export interface StaticGeoEntry {
  readonly cidr: string;
  readonly record: GeoRecord;
}

/**
 * Creates a lookup that answers from `entries`, longest prefix first.
 *
 * @throws {IpParseError} For a bad CIDR.
 * @example
 * ```ts
 * import { createStaticGeoLookup } from "./static_lookup.ts";
 * const geo = createStaticGeoLookup([{ cidr: "81.2.69.0/24", record: { country: "GB" } }]);
 * if (geo.lookup("81.2.69.7").prefixLength !== 24) throw new Error("prefix");
 * ```
 */
export function createStaticGeoLookup(
  entries: readonly StaticGeoEntry[],
): GeoLookup {
  const table: { cidr: Cidr; record: GeoRecord }[] = entries
    .map((e) => ({ cidr: parseCidr(e.cidr), record: e.record }))
    .sort((a, b) => b.cidr.prefixLength - a.cidr.prefixLength);
  return {
    lookup(address: string | Uint8Array): GeoResult {
      const bytes = typeof address === "string"
        ? parseIp(address)?.bytes
        : address;
      if (!bytes) {
        return { record: undefined, prefixLength: 0, reserved: false };
      }
      if (isReservedIp(bytes)) {
        return {
          record: undefined,
          prefixLength: bytes.length * 8,
          reserved: true,
        };
      }
      for (const e of table) {
        if (cidrContains(e.cidr, bytes)) {
          return {
            record: e.record,
            prefixLength: e.cidr.prefixLength,
            reserved: false,
          };
        }
      }
      return { record: undefined, prefixLength: 0, reserved: false };
    },
  };
}
