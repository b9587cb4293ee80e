/**
 * DNS protocol numbers and limits (IANA DNS parameters), as named `as const` maps.
 *
 * @module
 */

/** Resource record types we read or write (RFC 1035 §3.2.2 and successors). */
export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  DS: 43,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;
export type RRTypeName = keyof typeof RRType;

/** Record type names by number, for the slow path and explanations. */
export const RR_TYPE_NAMES: ReadonlyMap<number, RRTypeName> = new Map(
  (Object.entries(RRType) as [RRTypeName, number][]).map(([k, v]) => [v, k]),
);

/** Classes (RFC 1035 §3.2.4); CH is Chaosnet, used for `version.bind` (RFC 4892). */
export const RRClass = { IN: 1, CH: 3, NONE: 254, ANY: 255 } as const;

/** Header opcodes (RFC 1035 §4.1.1). Only QUERY is implemented. */
export const Opcode = { Query: 0 } as const;

/** Response codes; values above 15 travel in the OPT extended RCODE (RFC 6891 §6.1.3). */
export const Rcode = {
  NoError: 0,
  FormErr: 1,
  ServFail: 2,
  NXDomain: 3,
  NotImp: 4,
  Refused: 5,
  BadVers: 16,
} as const;
export type RcodeValue = typeof Rcode[keyof typeof Rcode];

/** Names of response codes, for metrics labels. */
export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  16: "BADVERS",
};

/** EDNS option codes (RFC 6891 §6.1.2). */
export const EdnsOption = { ClientSubnet: 8 } as const;

/** Header flag bits, by byte: byte 2 holds QR|OPCODE|AA|TC|RD, byte 3 RA|Z|AD|CD|RCODE. */
export const Flags2 = {
  QR: 0x80,
  AA: 0x04,
  TC: 0x02,
  RD: 0x01,
  OPCODE_MASK: 0x78,
} as const;
export const Flags3 = {
  RA: 0x80,
  AD: 0x20,
  CD: 0x10,
  RCODE_MASK: 0x0f,
} as const;
/** The DO bit in the OPT TTL's flags (RFC 3225). */
export const EDNS_DO_BIT = 0x8000;

/** Fixed header size (RFC 1035 §4.1.1). */
export const HEADER_BYTES = 12;
/** Longest name on the wire, length octets included (RFC 1035 §2.3.4). */
export const MAX_NAME_BYTES = 255;
/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL_BYTES = 63;
/** Largest UDP response without EDNS (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_BYTES = 512;
/** Largest DNS message (the TCP length prefix is 16 bits; RFC 1035 §4.2.2). */
export const MAX_MESSAGE_BYTES = 65535;
/** Records we skip in a query's answer/authority/additional sections before calling it malformed. */
export const MAX_QUERY_RECORDS = 32;
/** The only EDNS version (RFC 6891 §6.1.3). */
export const EDNS_VERSION = 0;
