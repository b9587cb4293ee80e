/**
 * Which network a client or an edge is on: carriers (`scheduler.isps`, a name and its AS
 * numbers) over the IP-to-ASN database (`geo/asn.ts`). Parsed and checked once at start-up
 * (unknown carrier names stop it, naming the key); looked up once per decision, never per
 * query (decisions are cached, see `answer/decisions.ts`).
 *
 * @module
 */

import { ConfigError } from "../config/mod.ts";
import type { SchedulerConfig } from "../config/scheduler_schema.ts";
import {
  type AsnDatabase,
  AsnDatabaseError,
  type AsnLookup,
  openAsnDatabase,
  parseIp,
} from "../geo/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { EdgeInfo } from "./edges.ts";

/** The network a client's address is in, as `isp_match` and `/api/explain` see it. */
export interface ClientNetwork {
  /** The origin AS; 0 when the database holds no range for the address. */
  readonly asn: number;
  readonly org: string;
  /** The carrier whose AS it is (`scheduler.isps`); `undefined` for any other AS. */
  readonly carrier: string | undefined;
  /** The prefix over which the lookup is the same (the range, or gap, holding the address). */
  readonly prefixLength: number;
}

/** What an edge is on: the ASNs and carriers it declared, or the AS of its address. */
export interface EdgeNetworks {
  readonly asns: ReadonlySet<number>;
  readonly carriers: ReadonlySet<string>;
  /** `declared`: from its `isp`/`asns`; `address`: looked up; `none`: neither. */
  readonly source: "declared" | "address" | "none";
}

/** One carrier. */
export interface Carrier {
  readonly name: string;
  readonly asns: readonly number[];
}

/**
 * Carriers and the ASN lookup behind them. One per scheduler process (and DNS worker); the
 * lookup is attached after the database opened ({@link attach}).
 *
 * @example
 * ```ts
 * import { NetworkDirectory } from "./networks.ts";
 * const d = new NetworkDirectory([{ name: "unicom", asns: [4837, 9929] }]);
 * if (d.carrierOf(9929) !== "unicom") throw new Error("carrier");
 * const e = d.edgeNetworks({ id: "bj1", address: "192.0.2.1", isps: ["unicom"], asns: [] });
 * if (!e.carriers.has("unicom") || !e.asns.has(4837)) throw new Error("edge");
 * ```
 */
export class NetworkDirectory {
  readonly carriers: readonly Carrier[];
  readonly #byAsn = new Map<number, string>();
  readonly #byName = new Map<string, Carrier>();
  #lookup: AsnLookup | undefined;
  #edges = new WeakMap<object, EdgeNetworks>();

  constructor(carriers: readonly Carrier[], lookup?: AsnLookup) {
    this.carriers = carriers;
    for (const c of carriers) {
      this.#byName.set(c.name, c);
      // An AS listed under two carriers counts for the first.
      for (const a of c.asns) {
        if (!this.#byAsn.has(a)) this.#byAsn.set(a, c.name);
      }
    }
    this.#lookup = lookup;
  }

  /**
   * Builds the directory from `scheduler.isps` and checks every config edge's `isp` and
   * `asns`.
   *
   * @throws {ConfigError} Naming `scheduler.edges[i].isp[j]` for a carrier not in `isps`, or
   *   the key of a malformed entry.
   */
  static fromConfig(
    config: Pick<SchedulerConfig, "isps" | "edges">,
  ): NetworkDirectory {
    const d = new NetworkDirectory(config.isps);
    config.edges.forEach((e, i) => {
      checkEdgeNetworks(d, e.isp, e.asns, `scheduler.edges[${i}]`);
    });
    return d;
  }

  /** True once an ASN database is attached. */
  get hasDatabase(): boolean {
    return this.#lookup !== undefined;
  }

  /** Sets the ASN lookup (after open; `undefined` when the database is off or failed). */
  attach(lookup: AsnLookup | undefined): void {
    this.#lookup = lookup;
    this.#edges = new WeakMap(); // edges placed by address are placed again
  }

  /** The carrier an AS belongs to. */
  carrierOf(asn: number): string | undefined {
    return this.#byAsn.get(asn);
  }

  /** The carrier named `name`. */
  carrier(name: string): Carrier | undefined {
    return this.#byName.get(name);
  }

  /** The network of a client address (4 or 16 bytes); `undefined` without a database. */
  lookupClient(bytes: Uint8Array): ClientNetwork | undefined {
    const l = this.#lookup;
    if (!l) return undefined;
    const r = l.lookup(bytes);
    return {
      asn: r.asn,
      org: r.org,
      carrier: r.asn ? this.#byAsn.get(r.asn) : undefined,
      prefixLength: r.prefixLength,
    };
  }

  /**
   * What an edge is on: its declared carriers and ASNs, or, with neither declared, the AS its
   * address (else its IPv6 address) is in. Memoised per edge object.
   */
  edgeNetworks(
    edge: Pick<EdgeInfo, "id" | "address"> & {
      readonly address6?: string;
      readonly isps?: readonly string[];
      readonly asns?: readonly number[];
    },
  ): EdgeNetworks {
    let n = this.#edges.get(edge);
    if (n) return n;
    const asns = new Set<number>(edge.asns ?? []);
    const carriers = new Set<string>();
    for (const name of edge.isps ?? []) {
      const c = this.#byName.get(name);
      if (!c) continue; // config edges are checked at start-up; a registered one may lag
      carriers.add(name);
      for (const a of c.asns) asns.add(a);
    }
    let source: EdgeNetworks["source"] = asns.size ? "declared" : "none";
    if (!asns.size && this.#lookup) {
      for (const text of [edge.address, edge.address6 ?? ""]) {
        const bytes = text ? parseIp(text)?.bytes : undefined;
        const asn = bytes ? this.#lookup.lookup(bytes).asn : 0;
        if (asn) {
          asns.add(asn);
          source = "address";
          break;
        }
      }
    }
    for (const a of asns) {
      const c = this.#byAsn.get(a);
      if (c) carriers.add(c);
    }
    n = { asns, carriers, source };
    this.#edges.set(edge, n);
    return n;
  }
}

/**
 * Checks one edge's `isp` names and `asns`.
 * @throws {ConfigError} Naming `${key}.isp[j]` or `${key}.asns[j]`.
 */
export function checkEdgeNetworks(
  directory: NetworkDirectory,
  isp: unknown,
  asns: unknown,
  key: string,
): void {
  if (!Array.isArray(isp)) throw new ConfigError(`${key}.isp`, isp, "a list");
  isp.forEach((name, j) => {
    if (typeof name !== "string" || !directory.carrier(name)) {
      throw new ConfigError(
        `${key}.isp[${j}]`,
        name,
        `a carrier of scheduler.isps (${
          directory.carriers.map((c) => c.name).join(", ") || "none listed"
        })`,
      );
    }
  });
  if (!Array.isArray(asns)) {
    throw new ConfigError(`${key}.asns`, asns, "a list");
  }
  asns.forEach((a, j) => {
    if (
      typeof a !== "number" || !Number.isInteger(a) || a < 1 || a > 0xffffffff
    ) {
      throw new ConfigError(
        `${key}.asns[${j}]`,
        a,
        "an AS number 1..4294967295",
      );
    }
  });
}

/** True when a chain list uses a filter named `name`. */
function usesFilter(config: Pick<SchedulerConfig, "zones">, name: string) {
  return config.zones.some((z) =>
    z.steered.some((s) =>
      Array.isArray(s.filters) &&
      s.filters.some((f) =>
        typeof f === "object" && f !== null &&
        (f as { name?: unknown }).name === name
      )
    )
  );
}

/** True when every `isp_match` of the config is `optional: true`. */
function allOptional(config: Pick<SchedulerConfig, "zones">): boolean {
  return config.zones.every((z) =>
    z.steered.every((s) =>
      !Array.isArray(s.filters) ||
      s.filters.every((f) =>
        (f as { name?: unknown }).name !== "isp_match" ||
        (f as { optional?: unknown }).optional === true
      )
    )
  );
}

/**
 * Opens the ASN database when a steered name uses `isp_match` and attaches it to `directory`.
 * When it cannot be opened: with every `isp_match` `optional: true`, logs a warning and
 * steering goes on by place only; otherwise the error stops start-up.
 *
 * @returns The open database (close it on shutdown), or `undefined`.
 * @throws {AsnDatabaseError} Naming the file (and line) when it is required and bad.
 */
export async function openNetworks(
  directory: NetworkDirectory,
  config: Pick<SchedulerConfig, "zones" | "asn">,
  log: Logger,
): Promise<AsnDatabase | undefined> {
  if (!usesFilter(config, "isp_match")) return undefined;
  try {
    const db = await openAsnDatabase({
      ipv4Path: config.asn.ipv4Path,
      ipv6Path: config.asn.ipv6Path,
      reloadCheckMs: config.asn.reloadCheckSeconds * 1000,
      onReload: ({ path, error }) => {
        if (error) {
          log.warn("ASN database reload failed; keeping the last one", {
            path,
            error: String(error),
          });
        } else {
          directory.attach(db);
          log.info("ASN database reloaded", { path });
        }
      },
    });
    directory.attach(db);
    log.info("ASN database open", {
      files: db.info.map((i) =>
        `${i.path} (${i.ipv4Ranges} IPv4, ${i.ipv6Ranges} IPv6 ranges)`
      ),
    });
    return db;
  } catch (e) {
    if (!(e instanceof AsnDatabaseError) || !allOptional(config)) throw e;
    log.warn(
      "ASN database unavailable; isp_match is optional, steering by place only",
      { error: e.message },
    );
    return undefined;
  }
}
