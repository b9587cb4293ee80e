/**
 * Geo: where an IP address is (MMDB lookup), which network (AS) holds it (ASN range table),
 * how far apart two places are (haversine), and which addresses are private or reserved. Lookup only: deciding what to answer is the
 * scheduler's policies' job.
 *
 * @example
 * ```ts
 * import { createStaticGeoLookup, haversineKm } from "./mod.ts";
 * const geo = createStaticGeoLookup([{ cidr: "8.8.8.0/24", record: { latitude: 37.4, longitude: -122.1 } }]);
 * const r = geo.lookup("8.8.8.8").record!;
 * const km = haversineKm({ latitude: r.latitude!, longitude: r.longitude! }, { latitude: 38.9, longitude: -77.0 });
 * if (km < 3000) throw new Error("too close");
 * ```
 *
 * @module
 */

export {
  ASN_ATTRIBUTION_HTML,
  ASN_LOAD_SLICE_MS,
  ASN_PACKAGE,
  type AsnDatabase,
  type AsnDatabaseInfo,
  type AsnDatabaseOptions,
  type AsnDefaultFile,
  findDefaultAsnDatabase,
  loadAsnFile,
  openAsnDatabase,
} from "./asn.ts";
export {
  AsnDatabaseError,
  type AsnLookup,
  type AsnResult,
  AsnTable,
  AsnTableBuilder,
  type AsnTableBuilderOptions,
  blockPrefix,
  EMPTY_ASN_TABLE,
  MAX_ASN_LINE_CHARS,
  MAX_ASN_ORG_CHARS,
  MAX_ASN_RANGES,
  type RangeColumns,
} from "./asn_table.ts";
export { type ContinentCode, continentOf } from "./continents.ts";
export { fmix32, ShardedMap, SlotCache, slotHash } from "./bounded_cache.ts";
export {
  EARTH_RADIUS_KM,
  type GeoPoint,
  haversineKm,
  kmFromChord,
  writeUnitVector,
} from "./distance.ts";
export {
  AddressFamily,
  type Cidr,
  cidrContains,
  formatIp,
  type IpAddress,
  IpParseError,
  isReservedIp,
  maskBytes,
  parseCidr,
  parseIp,
} from "./ip.ts";
export {
  DBIP_ATTRIBUTION_HTML,
  DBIP_PACKAGE,
  findDefaultDatabase,
  type GeoDatabase,
  GeoDatabaseError,
  type GeoDatabaseInfo,
  type GeoDatabaseOptions,
  mapRecord,
  openGeoDatabase,
} from "./mmdb.ts";
export { createStaticGeoLookup, type StaticGeoEntry } from "./static_lookup.ts";
export type { GeoLookup, GeoRecord, GeoResult } from "./types.ts";
