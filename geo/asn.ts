/**
 * The IP-to-ASN database files: found in `node_modules` (npm `@ip-location-db/asn`, CSV,
 * RouteViews + DB-IP, CC BY 4.0: {@link ASN_ATTRIBUTION_HTML}), read in slices that yield to
 * the event loop, parsed by `asn_table.ts`, and reloaded when a file is replaced. A reload
 * builds the whole new table aside and swaps it in one assignment, so lookups never wait and
 * never see half a file.
 *
 * There is no MMDB build of this data on npm; its CSV loads into typed arrays once instead
 * (about 1 s for both files on one core, in slices of at most {@link ASN_LOAD_SLICE_MS}).
 *
 * @module
 */

import {
  AsnDatabaseError,
  type AsnLookup,
  type AsnResult,
  type AsnTable,
  AsnTableBuilder,
} from "./asn_table.ts";

/** The npm package holding the default ASN files. */
export const ASN_PACKAGE = "@ip-location-db/asn";
/** The data's attribution (CC BY 4.0), shown wherever ASN lookups appear. */
export const ASN_ATTRIBUTION_HTML =
  `IP to ASN by <a href="https://www.routeviews.org/">RouteViews</a>, <a href="https://db-ip.com/">DB-IP</a> and <a href="https://www.nro.net/">NRO</a> (CC BY 4.0)`;
/**
 * Longest run of parsing between two yields to the event loop (ms): a (re)load shares the
 * thread with DNS answers, so each slice delays a query by at most about this much.
 */
export const ASN_LOAD_SLICE_MS = 8;

/** Options of {@link openAsnDatabase}. */
export interface AsnDatabaseOptions {
  /** IPv4 CSV (or one CSV holding both families). Empty: the package's `asn-ipv4-num.csv`. @default "" */
  readonly ipv4Path?: string;
  /** IPv6 CSV. Empty: the package's `asn-ipv6-num.csv` (when `ipv4Path` is also empty). @default "" */
  readonly ipv6Path?: string;
  /** How often the files are checked for replacement (ms); 0 never. @default 60000 */
  readonly reloadCheckMs?: number;
  /** Called after a reload, or with the error when a replaced file could not be read. */
  readonly onReload?: (event: { path: string; error?: unknown }) => void;
  /** Where `node_modules` is searched for the default package. @default Deno.cwd() */
  readonly baseDir?: string;
}

/** One loaded file. */
export interface AsnDatabaseInfo {
  /** The file. */
  readonly path: string;
  /** IPv4 ranges it holds. */
  readonly ipv4Ranges: number;
  /** IPv6 ranges it holds. */
  readonly ipv6Ranges: number;
  /** 1 at open, +1 per reload. */
  readonly generation: number;
}

/** An open ASN database; {@link close} stops the reload timer. */
export interface AsnDatabase extends AsnLookup {
  /** The loaded files. */
  readonly info: readonly AsnDatabaseInfo[];
  /** The organisation of an AS, "" when unknown. */
  orgOf(asn: number): string;
  /** Re-reads every file whose size or mtime changed; resolves to how many were reloaded. */
  checkForUpdates(): Promise<number>;
  /** Stops the reload timer. */
  close(): void;
}

/** The default files of {@link ASN_PACKAGE}. */
export type AsnDefaultFile = "asn-ipv4-num.csv" | "asn-ipv6-num.csv";

/**
 * Finds a default ASN file in `node_modules` (top-level link or Deno's `.deno` store).
 *
 * @returns The path, or `undefined` when the package is not installed.
 */
export function findDefaultAsnDatabase(
  file: AsnDefaultFile,
  baseDir: string = Deno.cwd(),
): string | undefined {
  const candidates = [`${baseDir}/node_modules/${ASN_PACKAGE}/${file}`];
  try {
    for (const e of Deno.readDirSync(`${baseDir}/node_modules/.deno`)) {
      if (e.name.startsWith("@ip-location-db+asn@")) {
        candidates.push(
          `${baseDir}/node_modules/.deno/${e.name}/node_modules/${ASN_PACKAGE}/${file}`,
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

const yieldToEventLoop = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * Reads and parses one CSV file, yielding to the event loop every {@link ASN_LOAD_SLICE_MS}.
 *
 * @param numericFamily The family of bare-number bounds in this file.
 * @throws {AsnDatabaseError} When the file cannot be read or a row does not parse.
 */
export async function loadAsnFile(
  path: string,
  numericFamily: 4 | 6,
): Promise<{ table: AsnTable; stamp: string }> {
  let file: Deno.FsFile;
  let stat: Deno.FileInfo;
  try {
    file = await Deno.open(path);
    stat = await file.stat();
  } catch (cause) {
    throw new AsnDatabaseError("Cannot read ASN database", path, undefined, {
      cause,
    });
  }
  const builder = new AsnTableBuilder({ path, numericFamily });
  const decoder = new TextDecoder("utf-8", { fatal: false });
  try {
    let sliceStart = performance.now();
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await file.read(buf);
      } catch (cause) {
        throw new AsnDatabaseError(
          "Cannot read ASN database",
          path,
          undefined,
          { cause },
        );
      }
      if (n === null) break;
      builder.push(decoder.decode(buf.subarray(0, n), { stream: true }));
      if (performance.now() - sliceStart >= ASN_LOAD_SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
    builder.push(decoder.decode());
    return { table: builder.finish(), stamp: stampOf(stat) };
  } finally {
    file.close();
  }
}

interface Slot {
  readonly path: string;
  readonly numericFamily: 4 | 6;
  table: AsnTable;
  stamp: string;
  generation: number;
}

const NONE: AsnResult = { asn: 0, org: "", prefixLength: 0 };

/**
 * Opens the ASN database. With no paths, the package's IPv4 and IPv6 files.
 *
 * @throws {AsnDatabaseError} When a file is missing or a row does not parse (naming the file
 *   and line).
 */
export async function openAsnDatabase(
  options: AsnDatabaseOptions = {},
): Promise<AsnDatabase> {
  const base = options.baseDir ?? Deno.cwd();
  let v4 = options.ipv4Path ?? "";
  let v6 = options.ipv6Path ?? "";
  if (!v4 && !v6) {
    v4 = findDefaultAsnDatabase("asn-ipv4-num.csv", base) ?? "";
    v6 = findDefaultAsnDatabase("asn-ipv6-num.csv", base) ?? "";
    if (!v4) {
      throw new AsnDatabaseError(
        `Default ASN database not installed (add npm:${ASN_PACKAGE} to the import map and run deno install, or set scheduler.asn.ipv4Path)`,
        `${base}/node_modules/${ASN_PACKAGE}/asn-ipv4-num.csv`,
      );
    }
  }
  const slots: Slot[] = [];
  for (const [path, numericFamily] of [[v4, 4], [v6, 6]] as const) {
    if (!path) continue;
    const { table, stamp } = await loadAsnFile(path, numericFamily);
    slots.push({ path, numericFamily, table, stamp, generation: 1 });
  }
  // Per family, the file holding that family (the IPv4 file may hold both).
  let by4: Slot | undefined;
  let by6: Slot | undefined;
  const pick = () => {
    by4 = slots.find((s) => s.table.size.v4 > 0);
    by6 = slots.find((s) => s.table.size.v6 > 0 && s.numericFamily === 6) ??
      slots.find((s) => s.table.size.v6 > 0);
  };
  pick();

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
          const next = await loadAsnFile(s.path, s.numericFamily);
          // One assignment each: a lookup sees the old table or the new one.
          s.table = next.table;
          s.stamp = next.stamp;
          s.generation++;
          pick();
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
  const every = options.reloadCheckMs ?? 60_000;
  if (every > 0) {
    const t = setInterval(() => void checkForUpdates(), every);
    Deno.unrefTimer(t as unknown as number);
    timer = t;
  }
  return {
    get info() {
      return slots.map((s) => ({
        path: s.path,
        ipv4Ranges: s.table.size.v4,
        ipv6Ranges: s.table.size.v6,
        generation: s.generation,
      }));
    },
    lookup(bytes: Uint8Array): AsnResult {
      const slot = bytes.length === 4 ? by4 : by6;
      return slot ? slot.table.lookup(bytes) : NONE;
    },
    orgOf(asn: number): string {
      for (const s of slots) {
        const o = s.table.orgOf(asn);
        if (o) return o;
      }
      return "";
    },
    checkForUpdates,
    close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
