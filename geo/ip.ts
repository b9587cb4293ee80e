/**
 * IP addresses as bytes: parsing, formatting, prefixes and the reserved ranges (RFC 6890).
 *
 * Pure: no `Deno.*`, no I/O. Both the DNS hot path (ECS addresses arrive as bytes) and config
 * parsing (CIDR strings) use it.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Address family numbers as ECS uses them (IANA Address Family Numbers; RFC 7871 §6). */
export const AddressFamily = { IPv4: 1, IPv6: 2 } as const;

/** An IP address: 4 or 16 bytes. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** A network: an address whose bits past `prefixLength` are zero. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
}

/** Thrown for text that is not an address or a CIDR. */
export class IpParseError extends CodedError<"IP_INVALID"> {
  override name = "IpParseError";
  constructor(readonly input: string, expected: string) {
    super("IP_INVALID", `Invalid IP '${input}': expected ${expected}`);
  }
}

function parseV4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const words = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const groups = s.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseV4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/**
 * Parses an IPv4 or IPv6 address.
 *
 * @returns The address, or `undefined` when `text` is neither.
 * @example
 * ```ts
 * import { parseIp } from "./ip.ts";
 * if (parseIp("2001:db8::1")?.family !== 6) throw new Error("v6");
 * if (parseIp("300.1.1.1") !== undefined) throw new Error("range");
 * ```
 */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const b = parseV6(text.startsWith("[") ? text.slice(1, -1) : text);
    return b ? { family: 6, bytes: b } : undefined;
  }
  const b = parseV4(text);
  return b ? { family: 4, bytes: b } : undefined;
}

/** Formats 4 or 16 bytes as text (RFC 5952 for IPv6: lowercase, longest zero run as `::`). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) {
    return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  }
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** A copy of `bytes` with every bit past `prefixLength` cleared. */
export function maskBytes(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  const full = prefixLength >> 3;
  out.set(bytes.subarray(0, Math.min(full, bytes.length)));
  const rest = prefixLength & 7;
  if (rest && full < bytes.length) {
    out[full] = bytes[full]! & (0xff << (8 - rest));
  }
  return out;
}

/**
 * Parses `a.b.c.d/n` or `x::/n` (a bare address is a host route).
 *
 * @throws {IpParseError} For a bad address, a bad length or bits set past the prefix.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) {
    throw new IpParseError(text, "an IPv4 or IPv6 network like 192.0.2.0/24");
  }
  const max = ip.family === 4 ? 32 : 128;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  const len = /^\d{1,3}$/.test(lenText) ? Number(lenText) : -1;
  if (len < 0 || len > max) {
    throw new IpParseError(text, `a prefix length 0..${max}`);
  }
  const masked = maskBytes(ip.bytes, len);
  if (!masked.every((b, i) => b === ip.bytes[i])) {
    throw new IpParseError(text, `no address bits set past /${len}`);
  }
  return { family: ip.family, bytes: masked, prefixLength: len };
}

/** True when `bytes` (same family) lies inside `cidr`. */
export function cidrContains(cidr: Cidr, bytes: Uint8Array): boolean {
  if ((cidr.family === 4 ? 4 : 16) !== bytes.length) return false;
  const full = cidr.prefixLength >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== bytes[i]) return false;
  const rest = cidr.prefixLength & 7;
  if (!rest) return true;
  const m = 0xff << (8 - rest) & 0xff;
  return (bytes[full]! & m) === cidr.bytes[full];
}

/** Special-purpose ranges (RFC 6890 and successors) that no geo database places. */
const RESERVED_TEXT = [
  "0.0.0.0/8", // RFC 1122 "this network"
  "10.0.0.0/8", // RFC 1918
  "100.64.0.0/10", // RFC 6598 CGN
  "127.0.0.0/8", // loopback
  "169.254.0.0/16", // link local
  "172.16.0.0/12", // RFC 1918
  "192.0.0.0/24", // IETF protocol assignments
  "192.0.2.0/24", // TEST-NET-1
  "192.168.0.0/16", // RFC 1918
  "198.18.0.0/15", // benchmarking
  "198.51.100.0/24", // TEST-NET-2
  "203.0.113.0/24", // TEST-NET-3
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved, broadcast
  "::/128",
  "::1/128",
  "::ffff:0:0/96", // v4-mapped
  "64:ff9b:1::/48", // local-use NAT64
  "100::/64", // discard
  "2001:db8::/32", // documentation
  "fc00::/7", // unique local
  "fe80::/10", // link local
  "ff00::/8", // multicast
] as const;
const RESERVED: readonly Cidr[] = RESERVED_TEXT.map(parseCidr);

/**
 * True for private, loopback, documentation and other special-purpose addresses (RFC 6890).
 *
 * @example
 * ```ts
 * import { isReservedIp, parseIp } from "./ip.ts";
 * if (!isReservedIp(parseIp("192.168.1.1")!.bytes)) throw new Error("private");
 * if (isReservedIp(parseIp("8.8.8.8")!.bytes)) throw new Error("public");
 * ```
 */
export function isReservedIp(bytes: Uint8Array): boolean {
  for (const c of RESERVED) if (cidrContains(c, bytes)) return true;
  return false;
}
