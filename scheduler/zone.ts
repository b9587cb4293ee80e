/**
 * Authority: the zones we serve, parsed once from config. Says which names are ours (REFUSED
 * otherwise: never an open resolver), which exist (NXDOMAIN vs NODATA), their static records,
 * which are steered by a filter chain, and which are delegated away (NS records below the apex
 * make a zone cut: names at and below it get a referral, RFC 1034 §4.3.2 step 3b). Wildcards
 * follow RFC 4592 (closest encloser).
 *
 * @module
 */

import { ConfigError } from "../config/mod.ts";
import type {
  SchedulerConfig,
  SchedulerZoneConfig,
} from "../config/scheduler_schema.ts";
import { parseIp } from "../geo/mod.ts";
import { RRType, type RRTypeName } from "./dns/constants.ts";
import type { RecordData, SoaData, TemplateRecord } from "./dns/template.ts";
import type { SteeringTtl } from "./policy/chain.ts";
import { parseFilterChain } from "./policy/registry.ts";
import type { Filter, PolicyDeps } from "./policy/types.ts";

/** A static record (its owner is filled in when answered; type and data as `dns/template.ts` takes them). */
export type ZoneRecord = RecordData & {
  readonly typeName: RRTypeName;
  readonly ttl: number;
};

/**
 * The names in a node's NS or CNAME records, with their TTLs (the records map holds each type
 * under its own key, so these are all of that type).
 */
export function targetsOf(
  node: ZoneNode,
  type: typeof RRType.NS | typeof RRType.CNAME,
): { readonly name: string; readonly ttl: number }[] {
  const out: { name: string; ttl: number }[] = [];
  for (const r of node.records.get(type) ?? []) {
    if (r.type === RRType.NS || r.type === RRType.CNAME) {
      out.push({ name: r.data, ttl: r.ttl });
    }
  }
  return out;
}

/** A steered name and its compiled chain. */
export interface SteeredName {
  /** Owner as configured (`live.meridian.test`, `*.cdn.meridian.test`). */
  readonly owner: string;
  readonly filters: readonly Filter[];
  readonly ttl: SteeringTtl;
}

/** One owner name's data. */
export interface ZoneNode {
  /** The owner as configured (lower case, no final dot; `*.` first for a wildcard). */
  readonly name: string;
  readonly records: ReadonlyMap<number, readonly ZoneRecord[]>;
  readonly steered?: SteeredName;
  /**
   * The delegation point at or above this name, for the NS records of a zone cut and the glue
   * below it: such a node is not authoritative data and answers with a referral.
   */
  readonly cut?: string;
}

/** One zone. Names are lower case without the final dot. */
export interface Zone {
  readonly apex: string;
  readonly soa: TemplateRecord;
  /** RFC 2308 §5: negative answers' TTL = min(SOA TTL, SOA MINIMUM). */
  readonly negativeTtl: number;
  readonly nodes: ReadonlyMap<string, ZoneNode>;
  /** Names that exist only because something lives below them (empty non-terminals). */
  readonly emptyNonTerminals: ReadonlySet<string>;
  /** Zone cuts: owners of NS records below the apex, and their nodes. */
  readonly delegations: ReadonlyMap<string, ZoneNode>;
}

/** Where a question name leads. */
export type ZoneLookup =
  | { readonly kind: "refused" }
  | { readonly kind: "nxdomain"; readonly zone: Zone }
  | { readonly kind: "nodata"; readonly zone: Zone }
  | {
    readonly kind: "node";
    readonly zone: Zone;
    readonly node: ZoneNode;
    readonly wildcard: boolean;
  }
  | {
    /** At or below a zone cut: the answer is a referral to `cut`'s name servers. */
    readonly kind: "referral";
    readonly zone: Zone;
    readonly cut: string;
    readonly node: ZoneNode;
  };

const LABEL_RE = /^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$/;

/** Normalizes a configured name: relative to `apex` unless it ends in '.'; `@` is the apex. */
export function absoluteName(name: string, apex: string, key: string): string {
  const n = name.trim().toLowerCase();
  let out: string;
  if (n === "@" || n === "") out = apex;
  else if (n.endsWith(".")) out = n.slice(0, -1);
  else out = apex ? `${n}.${apex}` : n;
  const labels = out === "" ? [] : out.split(".");
  if (
    out.length > 253 || labels.some((l) => !LABEL_RE.test(l)) ||
    labels.slice(1).includes("*")
  ) {
    throw new ConfigError(
      key,
      name,
      "a DNS name of letters, digits, '-' and '_' (a wildcard only as the first label)",
    );
  }
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"')
    ? t.slice(1, -1)
    : t;
}

function parseRecord(
  r: SchedulerZoneConfig["records"][number],
  apex: string,
  key: string,
): ZoneRecord {
  const typeName = String(r.type).toUpperCase() as RRTypeName;
  const ttl = r.ttl;
  if (
    typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0 ||
    ttl > 2_147_483_647
  ) {
    throw new ConfigError(
      `${key}.ttl`,
      ttl,
      "an integer 0..2147483647 (RFC 2181 §8)",
    );
  }
  const v = String(r.value ?? "");
  const bad = (expected: string): never => {
    throw new ConfigError(`${key}.value`, r.value, expected);
  };
  let rd: RecordData;
  switch (typeName) {
    case "A":
      if (parseIp(v)?.family !== 4) bad("an IPv4 address");
      rd = { type: RRType.A, data: v };
      break;
    case "AAAA":
      if (parseIp(v)?.family !== 6) bad("an IPv6 address");
      rd = { type: RRType.AAAA, data: v };
      break;
    case "CNAME":
    case "NS":
      rd = {
        type: RRType[typeName],
        data: absoluteName(v, apex, `${key}.value`),
      };
      break;
    case "TXT": {
      const text = unquote(v);
      const chunks: string[] = [];
      // RFC 1035 §3.3.14: character-strings of at most 255 bytes each.
      for (let i = 0; i < text.length; i += 255) {
        chunks.push(text.slice(i, i + 255));
      }
      rd = { type: RRType.TXT, data: chunks.length ? chunks : [""] };
      break;
    }
    case "MX": {
      const m = /^(\d{1,5})\s+(\S+)$/.exec(v.trim());
      if (!m || Number(m[1]) > 65535) {
        return bad("'PREFERENCE EXCHANGE', e.g. '10 mail.example.'");
      }
      rd = {
        type: RRType.MX,
        data: {
          preference: Number(m[1]),
          exchange: absoluteName(m[2]!, apex, `${key}.value`),
        },
      };
      break;
    }
    case "CAA": {
      // RFC 8659 §4.1: flags tag value.
      const m = /^(\d{1,3})\s+([a-z0-9]+)\s+(.+)$/i.exec(v.trim());
      if (!m || Number(m[1]) > 255) {
        return bad(`'FLAGS TAG "VALUE"', e.g. '0 issue "ca.example"'`);
      }
      rd = {
        type: RRType.CAA,
        data: {
          flags: Number(m[1]),
          tag: m[2]!.toLowerCase(),
          value: unquote(m[3]!),
        },
      };
      break;
    }
    default:
      throw new ConfigError(
        `${key}.type`,
        r.type,
        "one of A, AAAA, CNAME, TXT, CAA, MX, NS",
      );
  }
  return { ...rd, typeName, ttl };
}

/** Parses one zone. @throws {ConfigError} */
export function parseZone(
  z: SchedulerZoneConfig,
  key: string,
  deps?: PolicyDeps,
): Zone {
  const apex = absoluteName(z.name, "", `${key}.name`);
  if (!apex) {
    throw new ConfigError(
      `${key}.name`,
      z.name,
      "a zone name other than the root",
    );
  }
  const nodes = new Map<
    string,
    {
      name: string;
      records: Map<number, ZoneRecord[]>;
      steered?: SteeredName;
      cut?: string;
    }
  >();
  /** Where each configured name came from, for errors found once every name is known. */
  const placed: { owner: string; type: number; key: string }[] = [];
  const node = (name: string) => {
    let n = nodes.get(name);
    if (!n) nodes.set(name, n = { name, records: new Map() });
    return n;
  };
  const add = (name: string, rec: ZoneRecord) => {
    const n = node(name);
    n.records.set(rec.type, [...(n.records.get(rec.type) ?? []), rec]);
  };
  const soaCfg = z.soa;
  for (
    const f of [
      "serial",
      "refresh",
      "retry",
      "expire",
      "minimum",
      "ttl",
    ] as const
  ) {
    const v = soaCfg?.[f];
    if (
      typeof v !== "number" || !Number.isInteger(v) || v < 0 ||
      v > 4_294_967_295
    ) {
      throw new ConfigError(`${key}.soa.${f}`, v, "an integer 0..4294967295");
    }
  }
  const soaData: SoaData = {
    mname: absoluteName(soaCfg.mname, apex, `${key}.soa.mname`),
    rname: absoluteName(soaCfg.rname, apex, `${key}.soa.rname`),
    serial: soaCfg.serial,
    refresh: soaCfg.refresh,
    retry: soaCfg.retry,
    expire: soaCfg.expire,
    minimum: soaCfg.minimum,
  };
  const soa: TemplateRecord = {
    type: RRType.SOA,
    owner: apex,
    ttl: soaCfg.ttl,
    data: soaData,
  };
  add(apex, {
    type: RRType.SOA,
    typeName: "SOA",
    ttl: soaCfg.ttl,
    data: soaData,
  });
  if (!Array.isArray(z.ns) || z.ns.length === 0) {
    throw new ConfigError(`${key}.ns`, z.ns, "a list of name servers");
  }
  z.ns.forEach((ns, i) =>
    add(apex, {
      type: RRType.NS,
      typeName: "NS",
      ttl: soaCfg.ttl,
      data: absoluteName(ns, apex, `${key}.ns[${i}]`),
    })
  );
  if (!Array.isArray(z.records)) {
    throw new ConfigError(`${key}.records`, z.records, "a list of records");
  }
  z.records.forEach((r, i) => {
    const k = `${key}.records[${i}]`;
    if (typeof r !== "object" || r === null) {
      throw new ConfigError(k, r, "a map with name, type, ttl, value");
    }
    const owner = absoluteName(String(r.name), apex, `${k}.name`);
    if (owner !== apex && !owner.endsWith(`.${apex}`)) {
      throw new ConfigError(`${k}.name`, r.name, `a name in ${apex}.`);
    }
    const rec = parseRecord(r, apex, k);
    add(owner, rec);
    placed.push({ owner, type: rec.type, key: `${k}.name` });
  });
  if (!Array.isArray(z.steered)) {
    throw new ConfigError(
      `${key}.steered`,
      z.steered,
      "a list of steered names",
    );
  }
  z.steered.forEach((s, i) => {
    const k = `${key}.steered[${i}]`;
    if (typeof s !== "object" || s === null) {
      throw new ConfigError(
        k,
        s,
        "a map with name, ttlSeconds, failoverTtlSeconds, filters",
      );
    }
    const owner = absoluteName(String(s.name), apex, `${k}.name`);
    if (!owner.endsWith(`.${apex}`) && owner !== apex) {
      throw new ConfigError(`${k}.name`, s.name, `a name in ${apex}.`);
    }
    for (const f of ["ttlSeconds", "failoverTtlSeconds"] as const) {
      const v = s[f];
      if (
        typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 86_400
      ) {
        throw new ConfigError(`${k}.${f}`, v, "an integer 0..86400");
      }
    }
    placed.push({ owner, type: -1, key: `${k}.name` });
    const n = node(owner);
    if (n.steered) {
      throw new ConfigError(`${k}.name`, s.name, "a name steered only once");
    }
    n.steered = {
      owner,
      filters: parseFilterChain(
        Array.isArray(s.filters) ? s.filters : [],
        `${k}.filters`,
        ...(deps ? [deps] : []),
      ),
      ttl: {
        ttlSeconds: s.ttlSeconds,
        failoverTtlSeconds: s.failoverTtlSeconds,
      },
    };
  });
  // RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME owner has no other data.
  for (const [name, n] of nodes) {
    if (
      n.records.has(RRType.CNAME) &&
      (n.records.size > 1 || n.steered ||
        n.records.get(RRType.CNAME)!.length > 1)
    ) {
      throw new ConfigError(
        `${key}.records`,
        name,
        "a CNAME owner with no other records",
      );
    }
  }
  const delegations = markDelegations(apex, nodes, placed);
  const emptyNonTerminals = new Set<string>();
  for (const name of nodes.keys()) {
    for (
      let p = name.indexOf(".");
      p >= 0 && name.slice(p + 1) !== apex;
      p = name.indexOf(".", p + 1)
    ) {
      const parent = name.slice(p + 1);
      if (!nodes.has(parent)) emptyNonTerminals.add(parent);
    }
  }
  return {
    apex,
    soa,
    negativeTtl: Math.min(soaCfg.ttl, soaCfg.minimum),
    nodes,
    emptyNonTerminals,
    delegations,
  };
}

/**
 * Finds the zone cuts (NS records below the apex) and marks the nodes at and below each. Below
 * a cut the child zone is authoritative, so the only data we may hold there is what a referral
 * carries: the cut's NS records and address records for glue (RFC 1034 §4.2.1). Anything else
 * would never be answered, so config holding it is refused, naming the key.
 *
 * @throws {ConfigError}
 */
function markDelegations(
  apex: string,
  nodes: Map<
    string,
    {
      name: string;
      records: Map<number, ZoneRecord[]>;
      steered?: SteeredName;
      cut?: string;
    }
  >,
  placed: readonly { owner: string; type: number; key: string }[],
): Map<string, ZoneNode> {
  const cuts = new Map<string, ZoneNode>();
  for (const [name, n] of nodes) {
    if (name !== apex && n.records.has(RRType.NS)) cuts.set(name, n);
  }
  if (!cuts.size) return cuts;
  /** The topmost cut at or above `name` (a name of this zone: config names have no escapes). */
  const cutOf = (name: string): string | undefined => {
    let top: string | undefined;
    for (let s = name; s !== apex; s = s.slice(s.indexOf(".") + 1)) {
      if (cuts.has(s)) top = s;
    }
    return top;
  };
  for (const { owner, type, key } of placed) {
    const cut = cutOf(owner);
    if (cut === undefined) continue;
    const glue = type === RRType.A || type === RRType.AAAA;
    const delegation = owner === cut && type === RRType.NS;
    const nested = type === RRType.NS && owner !== cut;
    if ((!glue && !delegation) || owner.startsWith("*.")) {
      throw new ConfigError(
        key,
        owner,
        nested
          ? `no delegation below the delegation of ${cut}. (RFC 1034 §4.2.1)`
          : `a name not at or below the delegation of ${cut}. (NS records there make a zone cut: only its NS and glue A/AAAA records may sit at or below it, RFC 1034 §4.2.1)`,
      );
    }
  }
  for (const [name, n] of nodes) {
    const cut = cutOf(name);
    if (cut !== undefined) n.cut = cut;
  }
  return cuts;
}

/** CNAME records one answer may carry: a chain longer than this is refused at config load. */
export const MAX_CNAME_CHAIN = 8;

/** One CNAME of a chain: its target and TTL (its owner is the previous link's target). */
export interface CnameLink {
  readonly target: string;
  readonly ttl: number;
}

/**
 * Where a CNAME leads inside its zone (RFC 1034 §4.3.2 step 3a: the server restarts the
 * lookup at the target and answers for it too while the target is its own data).
 */
export interface CnameChain {
  /** The CNAMEs in answer order; the first is owned by the question name. */
  readonly links: readonly CnameLink[];
  /**
   * What the last target is in the same zone: a node (with no CNAME), NXDOMAIN or NODATA.
   * `undefined` when it is outside the zone or delegated: the resolver follows from there.
   */
  readonly end:
    | {
      readonly kind: "node";
      readonly name: string;
      readonly node: ZoneNode;
    }
    | { readonly kind: "nxdomain" | "nodata"; readonly name: string }
    | undefined;
}

/** All our zones, longest apex first. */
export class Authority {
  readonly zones: readonly Zone[];
  readonly #chains = new Map<ZoneNode, CnameChain>();

  /**
   * @param keys Config key of each zone, for errors (`scheduler.zones[i]`).
   * @throws {ConfigError} For a CNAME chain that loops or is longer than {@link MAX_CNAME_CHAIN}.
   */
  constructor(zones: readonly Zone[], keys?: ReadonlyMap<Zone, string>) {
    this.zones = [...zones].sort((a, b) => b.apex.length - a.apex.length);
    for (const zone of this.zones) {
      for (const [name, node] of zone.nodes) {
        if (node.records.has(RRType.CNAME)) {
          this.#chains.set(
            node,
            this.#follow(
              zone,
              name,
              node,
              keys?.get(zone) ?? "scheduler.zones",
            ),
          );
        }
      }
    }
  }

  /** The in-zone chain starting at a node that holds a CNAME (computed at load). */
  chainOf(node: ZoneNode): CnameChain | undefined {
    return this.#chains.get(node);
  }

  #follow(zone: Zone, owner: string, start: ZoneNode, key: string): CnameChain {
    const links: CnameLink[] = [];
    const seen = new Set<ZoneNode>([start]);
    let node = start;
    for (;;) {
      // A chain starts at (and goes on through) nodes that hold a CNAME.
      const cname = targetsOf(node, RRType.CNAME)[0]!;
      const target = cname.name;
      links.push({ target, ttl: cname.ttl });
      const path = () => [owner, ...links.map((l) => l.target)].join(" → ");
      if (links.length > MAX_CNAME_CHAIN) {
        throw new ConfigError(
          `${key}.records`,
          owner,
          `a CNAME chain of at most ${MAX_CNAME_CHAIN} records, got ${path()}`,
        );
      }
      const found = this.lookup(target);
      if (found.kind === "refused" || found.zone !== zone) {
        return { links, end: undefined };
      }
      if (found.kind === "referral") return { links, end: undefined };
      if (found.kind !== "node") {
        return { links, end: { kind: found.kind, name: target } };
      }
      if (!found.node.records.has(RRType.CNAME)) {
        return { links, end: { kind: "node", name: target, node: found.node } };
      }
      if (seen.has(found.node)) {
        throw new ConfigError(
          `${key}.records`,
          owner,
          `a CNAME chain without a loop, got ${path()}`,
        );
      }
      seen.add(found.node);
      node = found.node;
    }
  }

  /**
   * Parses `config.zones`.
   * @param deps What the filters share (carriers, ASN lookup); default: the default carriers.
   * @throws {ConfigError}
   */
  static fromConfig(
    config: Pick<SchedulerConfig, "zones">,
    deps?: PolicyDeps,
  ): Authority {
    const zones = config.zones.map((z, i) =>
      parseZone(z, `scheduler.zones[${i}]`, deps)
    );
    const seen = new Set<string>();
    zones.forEach((z, i) => {
      if (seen.has(z.apex)) {
        throw new ConfigError(
          `scheduler.zones[${i}].name`,
          z.apex,
          "a zone listed once",
        );
      }
      seen.add(z.apex);
    });
    return new Authority(
      zones,
      new Map(zones.map((z, i) => [z, `scheduler.zones[${i}]`])),
    );
  }

  /**
   * The zone holding `name`, if any. Names are presentation text as `parseQuery` gives them:
   * lower case, no final dot, a `.` or `\` inside a label escaped with `\` (and other bytes
   * as `\DDD`), so only an unescaped `.` separates labels.
   */
  zoneOf(name: string): Zone | undefined {
    for (const z of this.zones) {
      const dot = name.length - z.apex.length - 1;
      if (
        name === z.apex ||
        (dot > 0 && name.endsWith(z.apex) && name.charCodeAt(dot) === DOT &&
          !isEscaped(name, dot))
      ) {
        return z;
      }
    }
    return undefined;
  }

  /** Finds what answers `name`. */
  lookup(name: string): ZoneLookup {
    const zone = this.zoneOf(name);
    if (!zone) return { kind: "refused" };
    const exact = zone.nodes.get(name);
    if (exact) {
      return exact.cut === undefined
        ? { kind: "node", zone, node: exact, wildcard: false }
        : {
          kind: "referral",
          zone,
          cut: exact.cut,
          node: zone.delegations.get(exact.cut)!,
        };
    }
    if (zone.delegations.size) {
      // RFC 1034 §4.3.2 step 3b: a cut on the way down from the apex makes this a referral.
      for (let p = labelEnd(name, 0); p >= 0; p = labelEnd(name, p + 1)) {
        const encloser = name.slice(p + 1);
        if (encloser === zone.apex) break;
        const cut = zone.delegations.get(encloser);
        if (cut) return { kind: "referral", zone, cut: encloser, node: cut };
      }
    }
    if (zone.emptyNonTerminals.has(name)) return { kind: "nodata", zone };
    // RFC 4592 §3.3.1: find the closest encloser; its wildcard child answers, if any.
    let p = labelEnd(name, 0);
    while (p >= 0) {
      const encloser = name.slice(p + 1);
      const wild = zone.nodes.get(`*.${encloser}`);
      if (wild) return { kind: "node", zone, node: wild, wildcard: true };
      if (
        zone.nodes.has(encloser) || zone.emptyNonTerminals.has(encloser) ||
        encloser === zone.apex
      ) break;
      p = labelEnd(name, p + 1);
    }
    return { kind: "nxdomain", zone };
  }
}

const DOT = 0x2e;
const BACKSLASH = 0x5c;

/** True when the character at `i` follows an odd run of backslashes (it is escaped). */
function isEscaped(name: string, i: number): boolean {
  let n = 0;
  while (i - n - 1 >= 0 && name.charCodeAt(i - n - 1) === BACKSLASH) n++;
  return n % 2 === 1;
}

/**
 * The offset of the `.` ending the label that starts at `from`, or -1 for the last label. An
 * escape (`\.`, `\\`, `\DDD`) never ends a label: its first character is skipped, and digits
 * are not dots.
 */
function labelEnd(name: string, from: number): number {
  for (let i = from; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === DOT) return i;
  }
  return -1;
}
