/**
 * Program-specific information: the PAT and PMT sections (ISO/IEC 13818-1 §2.4.4), and the
 * single-packet framing we use for them.
 *
 * @module
 */

import { crc32Mpeg2 } from "./crc32.ts";
import { TableId, TS_PACKET_BYTES, TS_SYNC_BYTE } from "./constants.ts";
import { TsErrorCode, TsFormatError } from "./errors.ts";

/** Bytes of a long-form section header before the table data (§2.4.4.3 Table 2-30). */
const SECTION_HEADER_BYTES = 8;
/** CRC_32 at the end of every long-form section. */
const CRC_BYTES = 4;
/** section_length is 12 bits and, for PAT/PMT, at most 1021 (§2.4.4.3). */
export const MAX_SECTION_LENGTH = 1021;
/** version_number is 5 bits. */
export const PSI_VERSION_MODULUS = 32;

/** One PAT entry. */
export interface PatProgram {
  readonly programNumber: number;
  readonly pmtPid: number;
}

/** A program association table. */
export interface Pat {
  readonly transportStreamId: number;
  readonly version: number;
  readonly programs: readonly PatProgram[];
}

/** One elementary stream in a PMT. */
export interface PmtStream {
  readonly streamType: number;
  readonly pid: number;
}

/** A program map table (descriptors are not written and are skipped when read). */
export interface Pmt {
  readonly programNumber: number;
  readonly version: number;
  readonly pcrPid: number;
  readonly streams: readonly PmtStream[];
}

/** A long-form PSI section with its header fields, CRC already checked. */
export interface PsiSection {
  readonly tableId: number;
  /** transport_stream_id (PAT) or program_number (PMT). */
  readonly tableIdExtension: number;
  readonly version: number;
  readonly currentNext: boolean;
  readonly sectionNumber: number;
  readonly lastSectionNumber: number;
  /** The table data between the 8-byte header and the CRC. */
  readonly body: Uint8Array;
}

function section(
  tableId: number,
  tableIdExtension: number,
  version: number,
  body: Uint8Array,
): Uint8Array {
  const sectionLength = 5 + body.byteLength + CRC_BYTES; // bytes after section_length
  const out = new Uint8Array(3 + sectionLength);
  out[0] = tableId;
  // section_syntax_indicator 1, '0', reserved '11', section_length (12 bits).
  out[1] = 0xb0 | (sectionLength >> 8);
  out[2] = sectionLength & 0xff;
  out[3] = tableIdExtension >> 8;
  out[4] = tableIdExtension & 0xff;
  // reserved '11', version_number (5), current_next_indicator 1.
  out[5] = 0xc1 | ((version % PSI_VERSION_MODULUS) << 1);
  out[6] = 0; // section_number
  out[7] = 0; // last_section_number
  out.set(body, SECTION_HEADER_BYTES);
  const crc = crc32Mpeg2(out.subarray(0, out.byteLength - CRC_BYTES));
  new DataView(out.buffer).setUint32(out.byteLength - CRC_BYTES, crc);
  return out;
}

/**
 * Encodes a PAT section (§2.4.4.3), from table_id to CRC_32.
 *
 * @param pat The table.
 * @returns The section bytes.
 *
 * @example
 * ```ts
 * import { encodePatSection } from "./psi.ts";
 * import assert from "node:assert/strict";
 * // What ffmpeg writes: transport_stream_id 1, program 1 on PMT PID 0x1000.
 * const s = encodePatSection({ transportStreamId: 1, version: 0, programs: [{ programNumber: 1, pmtPid: 0x1000 }] });
 * assert.deepEqual(s, new Uint8Array([
 *   0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1, 0x04, 0xb2,
 * ]));
 * ```
 */
export function encodePatSection(pat: Pat): Uint8Array {
  const body = new Uint8Array(4 * pat.programs.length);
  pat.programs.forEach((p, i) => {
    body[4 * i] = p.programNumber >> 8;
    body[4 * i + 1] = p.programNumber & 0xff;
    body[4 * i + 2] = 0xe0 | (p.pmtPid >> 8); // reserved '111', program_map_PID
    body[4 * i + 3] = p.pmtPid & 0xff;
  });
  return section(TableId.Pat, pat.transportStreamId, pat.version, body);
}

/**
 * Encodes a PMT section (§2.4.4.8) without descriptors.
 *
 * @param pmt The table.
 * @returns The section bytes.
 *
 * @example
 * ```ts
 * import { decodePmt, decodePsiSection, encodePmtSection } from "./psi.ts";
 * import assert from "node:assert/strict";
 * const pmt = { programNumber: 1, version: 0, pcrPid: 0x100, streams: [{ streamType: 0x1b, pid: 0x100 }] };
 * assert.deepEqual(decodePmt(decodePsiSection(encodePmtSection(pmt))), pmt);
 * ```
 */
export function encodePmtSection(pmt: Pmt): Uint8Array {
  const body = new Uint8Array(4 + 5 * pmt.streams.length);
  body[0] = 0xe0 | (pmt.pcrPid >> 8); // reserved '111', PCR_PID
  body[1] = pmt.pcrPid & 0xff;
  body[2] = 0xf0; // reserved '1111', program_info_length 0
  body[3] = 0;
  pmt.streams.forEach((s, i) => {
    const o = 4 + 5 * i;
    body[o] = s.streamType;
    body[o + 1] = 0xe0 | (s.pid >> 8); // reserved '111', elementary_PID
    body[o + 2] = s.pid & 0xff;
    body[o + 3] = 0xf0; // reserved '1111', ES_info_length 0
    body[o + 4] = 0;
  });
  return section(TableId.Pmt, pmt.programNumber, pmt.version, body);
}

/**
 * Frames a section as one transport packet: pointer_field 0, section, 0xFF stuffing
 * (§2.4.4.1: stuffing after the last section of a packet is 0xFF bytes).
 *
 * @param pid The PID (0 for the PAT).
 * @param sectionBytes A section of at most 183 bytes.
 * @param continuityCounter The packet's 4-bit continuity counter.
 * @returns 188 bytes.
 * @throws {TsFormatError} `TS_BAD_VALUE` if the section does not fit one packet.
 *
 * @example
 * ```ts
 * import { encodePatSection, psiPacket } from "./psi.ts";
 * import assert from "node:assert/strict";
 * const p = psiPacket(0, encodePatSection({ transportStreamId: 1, version: 0, programs: [] }), 0);
 * assert.deepEqual([...p.subarray(0, 5)], [0x47, 0x40, 0x00, 0x10, 0x00]);
 * ```
 */
export function psiPacket(
  pid: number,
  sectionBytes: Uint8Array,
  continuityCounter: number,
): Uint8Array {
  if (sectionBytes.byteLength > TS_PACKET_BYTES - 5) {
    throw new TsFormatError(
      TsErrorCode.BadValue,
      `Cannot frame PSI section: must be at most ${
        TS_PACKET_BYTES - 5
      } bytes, got ${sectionBytes.byteLength}`,
    );
  }
  const out = new Uint8Array(TS_PACKET_BYTES).fill(0xff);
  out[0] = TS_SYNC_BYTE;
  out[1] = 0x40 | (pid >> 8); // payload_unit_start_indicator 1
  out[2] = pid & 0xff;
  out[3] = 0x10 | (continuityCounter & 0x0f); // payload only
  out[4] = 0; // pointer_field
  out.set(sectionBytes, 5);
  return out;
}

/**
 * Decodes a long-form PSI section and checks its CRC32.
 *
 * @param bytes Bytes starting at table_id (trailing stuffing is ignored).
 * @returns The header fields and table body.
 * @throws {TsFormatError} `TS_BAD_PSI` if truncated, not long-form or the CRC fails.
 *
 * @example
 * ```ts
 * import { decodePsiSection, encodePatSection } from "./psi.ts";
 * import assert from "node:assert/strict";
 * const s = decodePsiSection(encodePatSection({ transportStreamId: 7, version: 3, programs: [] }));
 * assert.equal(s.tableIdExtension, 7);
 * assert.equal(s.version, 3);
 * ```
 */
export function decodePsiSection(bytes: Uint8Array): PsiSection {
  if (bytes.byteLength < 3) {
    throw new TsFormatError(
      TsErrorCode.BadPsi,
      `Cannot decode PSI section: header needs 3 bytes, got ${bytes.byteLength}`,
    );
  }
  if (!(bytes[1]! & 0x80)) {
    throw new TsFormatError(
      TsErrorCode.BadPsi,
      `Cannot decode PSI section: table 0x${
        bytes[0]!.toString(16)
      } is not long-form`,
    );
  }
  const sectionLength = ((bytes[1]! & 0x0f) << 8) | bytes[2]!;
  const total = 3 + sectionLength;
  if (sectionLength > MAX_SECTION_LENGTH || sectionLength < 5 + CRC_BYTES) {
    throw new TsFormatError(
      TsErrorCode.BadPsi,
      `Cannot decode PSI section: section_length must be ${
        5 + CRC_BYTES
      }..${MAX_SECTION_LENGTH}, got ${sectionLength}`,
    );
  }
  if (total > bytes.byteLength) {
    throw new TsFormatError(
      TsErrorCode.BadPsi,
      `Cannot decode PSI section: needs ${total} bytes, got ${bytes.byteLength}`,
    );
  }
  const sectionBytes = bytes.subarray(0, total);
  if (crc32Mpeg2(sectionBytes) !== 0) {
    throw new TsFormatError(
      TsErrorCode.BadPsi,
      `Cannot decode PSI section: CRC32 mismatch in table 0x${
        bytes[0]!.toString(16)
      }`,
    );
  }
  return {
    tableId: bytes[0]!,
    tableIdExtension: (bytes[3]! << 8) | bytes[4]!,
    version: (bytes[5]! >> 1) & 0x1f,
    currentNext: (bytes[5]! & 1) === 1,
    sectionNumber: bytes[6]!,
    lastSectionNumber: bytes[7]!,
    body: bytes.subarray(SECTION_HEADER_BYTES, total - CRC_BYTES),
  };
}

/**
 * Reads a PAT from a decoded section.
 *
 * @param s A section with table_id 0.
 * @returns The table.
 * @throws {TsFormatError} `TS_BAD_PSI` for another table id or a ragged body.
 *
 * @example
 * ```ts
 * import { decodePat, decodePsiSection, encodePatSection } from "./psi.ts";
 * import assert from "node:assert/strict";
 * const pat = { transportStreamId: 1, version: 0, programs: [{ programNumber: 1, pmtPid: 0x1000 }] };
 * assert.deepEqual(decodePat(decodePsiSection(encodePatSection(pat))), pat);
 * ```
 */
export function decodePat(s: PsiSection): Pat {
  if (s.tableId !== TableId.Pat || s.body.byteLength % 4 !== 0) {
    throw new TsFormatError(
      TsErrorCode.BadPsi,
      `Cannot decode PAT: table_id 0x${
        s.tableId.toString(16)
      }, body of ${s.body.byteLength} bytes`,
    );
  }
  const programs: PatProgram[] = [];
  for (let o = 0; o < s.body.byteLength; o += 4) {
    programs.push({
      programNumber: (s.body[o]! << 8) | s.body[o + 1]!,
      pmtPid: ((s.body[o + 2]! & 0x1f) << 8) | s.body[o + 3]!,
    });
  }
  return {
    transportStreamId: s.tableIdExtension,
    version: s.version,
    programs,
  };
}

/**
 * Reads a PMT from a decoded section, skipping descriptors.
 *
 * @param s A section with table_id 2.
 * @returns The table.
 * @throws {TsFormatError} `TS_BAD_PSI` for another table id or lengths past the end.
 *
 * @example
 * ```ts
 * import { decodePmt, decodePsiSection, encodePmtSection } from "./psi.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodePmtSection({ programNumber: 1, version: 2, pcrPid: 0x101, streams: [] });
 * assert.equal(decodePmt(decodePsiSection(bytes)).pcrPid, 0x101);
 * ```
 */
export function decodePmt(s: PsiSection): Pmt {
  const b = s.body;
  const bad = (why: string): TsFormatError =>
    new TsFormatError(TsErrorCode.BadPsi, `Cannot decode PMT: ${why}`);
  if (s.tableId !== TableId.Pmt) {
    throw bad(`table_id must be 2, got ${s.tableId}`);
  }
  if (b.byteLength < 4) throw bad(`body needs 4 bytes, got ${b.byteLength}`);
  const pcrPid = ((b[0]! & 0x1f) << 8) | b[1]!;
  let o = 4 + (((b[2]! & 0x0f) << 8) | b[3]!);
  const streams: PmtStream[] = [];
  while (o < b.byteLength) {
    if (o + 5 > b.byteLength) throw bad(`stream entry at ${o} is truncated`);
    const esInfoLength = ((b[o + 3]! & 0x0f) << 8) | b[o + 4]!;
    streams.push({
      streamType: b[o]!,
      pid: ((b[o + 1]! & 0x1f) << 8) | b[o + 2]!,
    });
    o += 5 + esInfoLength;
  }
  if (o !== b.byteLength) {
    throw bad(`descriptors run ${o - b.byteLength} bytes past the end`);
  }
  return {
    programNumber: s.tableIdExtension,
    version: s.version,
    pcrPid,
    streams,
  };
}
