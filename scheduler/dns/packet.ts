/**
 * npm dns-packet, typed to the subset we use: builds the warm-up queries and decodes messages
 * in tests and tools. Response templates are ours (`template.ts`: dns-packet takes names as
 * text and does not compress).
 *
 * @module
 */

import { Buffer } from "node:buffer";
// @ts-types="./_dns_packet.d.ts"
import dnsPacket from "dns-packet";

/** A record as dns-packet reads and writes it. */
export interface PacketRecord {
  readonly type: string;
  readonly name: string;
  readonly class?: string;
  readonly ttl?: number;
  // deno-lint-ignore no-explicit-any
  readonly data?: any;
  readonly udpPayloadSize?: number;
  readonly flags?: number;
  readonly options?: readonly Record<string, unknown>[];
}

/** A message as dns-packet reads and writes it. */
export interface Packet {
  readonly type?: "query" | "response";
  readonly id?: number;
  readonly flags?: number;
  readonly rcode?: string;
  readonly "flag_aa"?: boolean;
  readonly "flag_tc"?: boolean;
  readonly "flag_rd"?: boolean;
  readonly "flag_ra"?: boolean;
  readonly questions?: readonly {
    readonly name: string;
    readonly type: string;
    readonly class?: string;
  }[];
  readonly answers?: readonly PacketRecord[];
  readonly authorities?: readonly PacketRecord[];
  readonly additionals?: readonly PacketRecord[];
}

/** Encodes a message with dns-packet. */
export function encodePacket(p: Packet): Uint8Array {
  const buf = dnsPacket.encode(p);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * A query with EDNS (payload 1232) and one ECS option for `subnet` (`address/prefix`, IPv4 or
 * IPv6): the shape resolvers send. For warm-ups, tests and benchmarks, not the hot path.
 *
 * @example
 * ```ts
 * import { decodePacket, encodeEcsQuery } from "./packet.ts";
 * const q = decodePacket(encodeEcsQuery("live.meridian.test", "A", "81.2.69.0/24"));
 * if (q.questions?.[0]?.name !== "live.meridian.test") throw new Error("name");
 * ```
 */
export function encodeEcsQuery(
  name: string,
  type: "A" | "AAAA",
  subnet: string,
  id = 1,
): Uint8Array {
  const [ip, len] = subnet.split("/");
  return encodePacket({
    type: "query",
    id,
    flags: 1 << 8,
    questions: [{ name, type, class: "IN" }],
    additionals: [{
      type: "OPT",
      name: ".",
      udpPayloadSize: 1232,
      flags: 0,
      options: [{
        code: 8,
        family: ip!.includes(":") ? 2 : 1,
        sourcePrefixLength: Number(len),
        scopePrefixLength: 0,
        ip,
      }],
    }],
  });
}

/** Decodes a message with dns-packet. @throws {Error} dns-packet's own errors. */
export function decodePacket(bytes: Uint8Array): Packet {
  return dnsPacket.decode(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  );
}

/** dns-packet's flag bits (the header's second 16-bit word). */
export const PACKET_FLAGS = {
  AUTHORITATIVE_ANSWER: 1 << 10,
  TRUNCATED_RESPONSE: 1 << 9,
  RECURSION_DESIRED: 1 << 8,
} as const;
