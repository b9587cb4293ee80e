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
import type { CaaData, HinfoData, MxData, SoaData } from "./template.ts";

/** What every record shares, as dns-packet reads and writes it. */
interface PacketRecordBase {
  readonly name: string;
  readonly class?: string;
  readonly ttl?: number;
}

/**
 * An EDNS option of an OPT record (RFC 6891 §6.1.2), as dns-packet reads and writes it: `code`
 * and the option's own fields (ECS: `family`, `sourcePrefixLength`, `scopePrefixLength`, `ip`).
 */
export type PacketOption = Readonly<Record<string, unknown>>;

/**
 * A record as dns-packet reads and writes it, one shape per type (the types Meridian answers
 * with); `type` narrows `data`. TXT data reads as buffers, one per character-string.
 */
export type PacketRecord =
  | PacketRecordBase & {
    readonly type: "A" | "AAAA" | "NS" | "CNAME";
    readonly data: string;
  }
  | PacketRecordBase & {
    readonly type: "TXT";
    readonly data: readonly (Uint8Array | string)[];
  }
  | PacketRecordBase & { readonly type: "MX"; readonly data: MxData }
  | PacketRecordBase & { readonly type: "SOA"; readonly data: SoaData }
  | PacketRecordBase & { readonly type: "HINFO"; readonly data: HinfoData }
  | PacketRecordBase & {
    readonly type: "CAA";
    readonly data: CaaData & { readonly issuerCritical?: boolean };
  }
  | PacketRecordBase & {
    /** RFC 6891 §6.1.2: the OPT pseudo-record carries its fields in class and TTL. */
    readonly type: "OPT";
    readonly udpPayloadSize?: number;
    readonly extendedRcode?: number;
    readonly ednsVersion?: number;
    readonly flags?: number;
    readonly "flag_do"?: boolean;
    readonly options?: readonly PacketOption[];
    /** None: an OPT record's fields are its own (so `data` reads alike on every record). */
    readonly data?: undefined;
  };

/** One of the record types {@link PacketRecord} knows. */
export type PacketRecordType = PacketRecord["type"];

/** The `data` of a {@link PacketRecord} of type `T`. */
export type PacketDataOf<T extends PacketRecordType> = PacketRecord extends
  infer R
  ? R extends { readonly type: infer U; readonly data: infer D }
    ? T extends U ? D : never
  : never
  : never;

/**
 * The data of `record` when it has `type`, else an error naming both (for tests and tools that
 * read decoded answers).
 *
 * @throws {TypeError} When the record is missing or of another type.
 * @example
 * ```ts
 * import { dataOf, type PacketRecord } from "./packet.ts";
 * import assert from "node:assert/strict";
 * const mx: PacketRecord = { type: "MX", name: "x", data: { preference: 10, exchange: "m.x" } };
 * assert.equal(dataOf(mx, "MX").exchange, "m.x");
 * assert.throws(() => dataOf(mx, "SOA"), TypeError);
 * ```
 */
export function dataOf<T extends Exclude<PacketRecordType, "OPT">>(
  record: PacketRecord | undefined,
  type: T,
): PacketDataOf<T> {
  if (record?.type !== type || record.data === undefined) {
    throw new TypeError(
      `Cannot read ${type} data: the record is ${record?.type ?? "missing"}`,
    );
  }
  // Checked just above: a record of type T carries T's data.
  return record.data as PacketDataOf<T>;
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
