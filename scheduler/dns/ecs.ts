/**
 * EDNS Client Subnet (RFC 7871), validated on the raw option bytes.
 *
 * @module
 */

import { AddressFamily, SlotCache } from "../../geo/mod.ts";

/** A validated ECS option from a query. */
export interface ClientSubnet {
  /** 1 (IPv4) or 2 (IPv6), RFC 7871 §6. */
  readonly family: 1 | 2;
  readonly sourcePrefixLength: number;
  /**
   * The address, zero-padded to 4 or 16 bytes. Shared between queries (IPv4 addresses are
   * interned): never write to it. The option as sent is FAMILY, SOURCE, SCOPE 0 and the first
   * ceil(SOURCE / 8) bytes of this (§6 makes that form the only valid one), so the echo is
   * rebuilt from these fields.
   */
  readonly address: Uint8Array;
}

/** Why an ECS option is malformed: every case is a FORMERR (RFC 7871 §7.1.1). */
export type EcsProblem =
  | "short option"
  | "unknown family"
  | "source prefix too long"
  | "address length does not match source prefix"
  | "address bits set past source prefix"
  | "scope prefix not zero in a query";

/**
 * IPv4 ECS addresses by value: a typed array costs ~180 bytes of garbage, and resolvers send
 * the same subnets again and again.
 */
const V4 = new SlotCache<number, Uint8Array>(65_536);

/** Wire length of an ECS option's data (FAMILY…ADDRESS) for a subnet. */
export function ecsDataBytes(ecs: ClientSubnet): number {
  return 4 + Math.ceil(ecs.sourcePrefixLength / 8);
}

/**
 * Parses and validates an ECS option's data (after OPTION-CODE and OPTION-LENGTH), in place.
 *
 * @param b The message.
 * @param start Offset of FAMILY.
 * @param length OPTION-LENGTH.
 * @returns The subnet, or the problem that makes the query a FORMERR.
 * @example
 * ```ts
 * import { parseClientSubnet } from "./ecs.ts";
 * const ok = parseClientSubnet(new Uint8Array([0, 1, 24, 0, 81, 2, 69]), 0, 7);
 * if (typeof ok === "string" || ok.sourcePrefixLength !== 24) throw new Error("ecs");
 * const long = parseClientSubnet(new Uint8Array([0, 1, 24, 0, 81, 2, 69, 1]), 0, 8);
 * if (long !== "address length does not match source prefix") throw new Error("len");
 * ```
 */
export function parseClientSubnet(
  b: Uint8Array,
  start: number,
  length: number,
): ClientSubnet | EcsProblem {
  // RFC 7871 §6: FAMILY (2), SOURCE PREFIX-LENGTH (1), SCOPE PREFIX-LENGTH (1), ADDRESS.
  if (length < 4) return "short option";
  const family = (b[start]! << 8) | b[start + 1]!;
  if (family !== AddressFamily.IPv4 && family !== AddressFamily.IPv6) {
    return "unknown family";
  }
  const source = b[start + 2]!;
  const scope = b[start + 3]!;
  const width = family === AddressFamily.IPv4 ? 4 : 16;
  if (source > width * 8) return "source prefix too long";
  // §6: ADDRESS holds exactly ceil(SOURCE/8) octets.
  const addressBytes = length - 4;
  if (addressBytes !== Math.ceil(source / 8)) {
    return "address length does not match source prefix";
  }
  const a = start + 4;
  // §6: bits past SOURCE PREFIX-LENGTH MUST be zero.
  if (source & 7 && (b[a + addressBytes - 1]! & (0xff >> (source & 7))) !== 0) {
    return "address bits set past source prefix";
  }
  // §6: SCOPE PREFIX-LENGTH MUST be 0 in queries; §7.1.1 FORMERR otherwise.
  if (scope !== 0) return "scope prefix not zero in a query";
  let address: Uint8Array;
  if (width === 4) {
    const v = (((addressBytes > 0 ? b[a]! : 0) << 24) |
      ((addressBytes > 1 ? b[a + 1]! : 0) << 16) |
      ((addressBytes > 2 ? b[a + 2]! : 0) << 8) |
      (addressBytes > 3 ? b[a + 3]! : 0)) >>> 0;
    const known = V4.get(v);
    if (known) address = known;
    else {
      address = new Uint8Array([
        v >>> 24,
        (v >>> 16) & 255,
        (v >>> 8) & 255,
        v & 255,
      ]);
      V4.set(v, address);
    }
  } else {
    address = new Uint8Array(16);
    for (let i = 0; i < addressBytes; i++) address[i] = b[a + i]!;
  }
  return { family: family as 1 | 2, sourcePrefixLength: source, address };
}
