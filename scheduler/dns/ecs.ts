/**
 * EDNS Client Subnet (RFC 7871), validated on the raw option bytes.
 *
 * @module
 */

import { AddressFamily } from "../../geo/mod.ts";

/** A validated ECS option from a query. */
export interface ClientSubnet {
  /** 1 (IPv4) or 2 (IPv6), RFC 7871 §6. */
  readonly family: 1 | 2;
  readonly sourcePrefixLength: number;
  /** The address, zero-padded to 4 or 16 bytes. */
  readonly address: Uint8Array;
  /** The option's data as sent (FAMILY…ADDRESS), echoed in the reply with SCOPE patched. */
  readonly raw: Uint8Array;
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
 * Parses and validates an ECS option's data (after OPTION-CODE and OPTION-LENGTH).
 *
 * @returns The subnet, or the problem that makes the query a FORMERR.
 * @example
 * ```ts
 * import { parseClientSubnet } from "./ecs.ts";
 * const ok = parseClientSubnet(new Uint8Array([0, 1, 24, 0, 81, 2, 69]));
 * if (typeof ok === "string" || ok.sourcePrefixLength !== 24) throw new Error("ecs");
 * if (parseClientSubnet(new Uint8Array([0, 1, 24, 0, 81, 2, 69, 1])) === ok) throw new Error("len");
 * ```
 */
export function parseClientSubnet(data: Uint8Array): ClientSubnet | EcsProblem {
  // RFC 7871 §6: FAMILY (2), SOURCE PREFIX-LENGTH (1), SCOPE PREFIX-LENGTH (1), ADDRESS.
  if (data.length < 4) return "short option";
  const family = (data[0]! << 8) | data[1]!;
  if (family !== AddressFamily.IPv4 && family !== AddressFamily.IPv6) {
    return "unknown family";
  }
  const source = data[2]!;
  const scope = data[3]!;
  const width = family === AddressFamily.IPv4 ? 4 : 16;
  if (source > width * 8) return "source prefix too long";
  // §6: ADDRESS holds exactly ceil(SOURCE/8) octets.
  const addressBytes = data.length - 4;
  if (addressBytes !== Math.ceil(source / 8)) {
    return "address length does not match source prefix";
  }
  // §6: bits past SOURCE PREFIX-LENGTH MUST be zero.
  if (
    source & 7 && (data[4 + addressBytes - 1]! & (0xff >> (source & 7))) !== 0
  ) {
    return "address bits set past source prefix";
  }
  // §6: SCOPE PREFIX-LENGTH MUST be 0 in queries; §7.1.1 FORMERR otherwise.
  if (scope !== 0) return "scope prefix not zero in a query";
  const address = new Uint8Array(width);
  address.set(data.subarray(4));
  return {
    family: family as 1 | 2,
    sourcePrefixLength: source,
    address,
    raw: data,
  };
}
