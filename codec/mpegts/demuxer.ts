/**
 * A small MPEG-TS demuxer and validator, for tests and for inspecting what we serve: parses
 * packets, PAT/PMT (checking CRC32), reassembles PES packets and checks continuity counters.
 *
 * @module
 */

import {
  TS_HEADER_BYTES,
  TS_PACKET_BYTES,
  TS_SYNC_BYTE,
  TsPid,
} from "./constants.ts";
import { TsErrorCode, TsFormatError } from "./errors.ts";
import {
  decodePat,
  decodePmt,
  decodePsiSection,
  type Pat,
  type Pmt,
} from "./psi.ts";
import { decodePesHeader } from "./pes.ts";

/** What one transport packet header says. */
export interface TsPacketInfo {
  readonly pid: number;
  readonly payloadUnitStart: boolean;
  readonly continuityCounter: number;
  readonly hasPayload: boolean;
  readonly randomAccess: boolean;
  /** program_clock_reference_base in 90 kHz ticks, if present. */
  readonly pcrTicks: number | undefined;
}

/** One reassembled PES packet. */
export interface TsPesPacket {
  readonly pid: number;
  readonly streamId: number;
  readonly ptsTicks: number;
  readonly dtsTicks: number;
  /** The elementary stream bytes after the PES header. */
  readonly data: Uint8Array;
  /** random_access_indicator of the PES's first packet. */
  readonly randomAccess: boolean;
}

/** A continuity counter that did not follow its predecessor on the same PID. */
export interface TsContinuityError {
  readonly pid: number;
  /** Index of the offending packet within the pushed bytes. */
  readonly packetIndex: number;
  readonly expected: number;
  readonly got: number;
}

/** Everything learned from one {@link TsDemuxer.demux} call. */
export interface TsDemuxResult {
  readonly packets: readonly TsPacketInfo[];
  readonly pat: Pat | undefined;
  readonly pmt: Pmt | undefined;
  readonly pes: readonly TsPesPacket[];
  readonly continuityErrors: readonly TsContinuityError[];
}

/**
 * Demuxes whole-packet buffers (e.g. HLS segments). Continuity-counter state is kept across
 * calls, so feeding consecutive segments checks continuity across segment boundaries. PES
 * packets still open at the end of a call are completed there (HLS segments end on PES
 * boundaries).
 *
 * @example
 * ```ts
 * import { StreamType, TsDemuxer, TsMuxer } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const mux = new TsMuxer({ audioStreamType: StreamType.AacAdts });
 * const bytes = new Uint8Array([...mux.writePsi(), ...mux.writeAudio({ ptsTicks: 0, data: new Uint8Array(400) })]);
 * const result = new TsDemuxer().demux(bytes);
 * assert.equal(result.pes.length, 1);
 * assert.equal(result.pes[0]!.data.byteLength, 400);
 * assert.deepEqual(result.continuityErrors, []);
 * ```
 */
export class TsDemuxer {
  readonly #lastCc = new Map<number, number>();
  #pmtPid: number = TsPid.Pmt;

  /**
   * Parses a buffer of whole packets.
   *
   * @param bytes A multiple of 188 bytes.
   * @param options `packets: false` leaves the per-packet list empty (a reader that wants
   *   only the PES packets: a segment is thousands of packets).
   * @returns Packets, tables, PES packets and continuity errors.
   * @throws {TsFormatError} `TS_BAD_SYNC` for a bad length or sync byte, `TS_BAD_PSI` for a
   * bad section or CRC, `TS_BAD_PES` for a bad PES header.
   */
  demux(
    bytes: Uint8Array,
    options: { readonly packets?: boolean } = {},
  ): TsDemuxResult {
    const keepPackets = options.packets ?? true;
    if (bytes.byteLength % TS_PACKET_BYTES !== 0) {
      throw new TsFormatError(
        TsErrorCode.BadSync,
        `Cannot demux TS: length must be a multiple of ${TS_PACKET_BYTES}, got ${bytes.byteLength}`,
      );
    }
    const packets: TsPacketInfo[] = [];
    const pes: TsPesPacket[] = [];
    const continuityErrors: TsContinuityError[] = [];
    const open = new Map<
      number,
      { parts: Uint8Array[]; randomAccess: boolean }
    >();
    let pat: Pat | undefined;
    let pmt: Pmt | undefined;
    const finish = (pid: number): void => {
      const entry = open.get(pid);
      if (!entry) return;
      open.delete(pid);
      const size = entry.parts.reduce((n, b) => n + b.byteLength, 0);
      const all = new Uint8Array(size);
      let o = 0;
      for (const b of entry.parts) {
        all.set(b, o);
        o += b.byteLength;
      }
      const h = decodePesHeader(all);
      pes.push({
        pid,
        streamId: h.streamId,
        ptsTicks: h.ptsTicks,
        dtsTicks: h.dtsTicks ?? h.ptsTicks,
        data: all.subarray(h.headerBytes),
        randomAccess: entry.randomAccess,
      });
    };
    for (let index = 0; index * TS_PACKET_BYTES < bytes.byteLength; index++) {
      const p = bytes.subarray(
        index * TS_PACKET_BYTES,
        (index + 1) * TS_PACKET_BYTES,
      );
      if (p[0] !== TS_SYNC_BYTE) {
        throw new TsFormatError(
          TsErrorCode.BadSync,
          `Cannot demux TS: packet ${index} starts with 0x${
            p[0]!.toString(16)
          }, expected 0x47`,
        );
      }
      const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
      const payloadUnitStart = (p[1]! & 0x40) !== 0;
      const afc = (p[3]! >> 4) & 0x03;
      const cc = p[3]! & 0x0f;
      const hasPayload = (afc & 1) === 1;
      let o = TS_HEADER_BYTES;
      let randomAccess = false;
      let pcrTicks: number | undefined;
      if (afc & 2) {
        const afLength = p[4]!;
        if (afLength > TS_PACKET_BYTES - TS_HEADER_BYTES - 1) {
          throw new TsFormatError(
            TsErrorCode.BadSync,
            `Cannot demux TS: packet ${index} adaptation_field_length ${afLength} is too long`,
          );
        }
        if (afLength > 0) {
          const flags = p[5]!;
          randomAccess = (flags & 0x40) !== 0;
          if (flags & 0x10 && afLength >= 7) {
            pcrTicks = (p[6]! * 2 ** 25) + (p[7]! << 17) + (p[8]! << 9) +
              (p[9]! << 1) +
              (p[10]! >> 7);
          }
        }
        o += 1 + afLength;
      }
      if (keepPackets) {
        packets.push({
          pid,
          payloadUnitStart,
          continuityCounter: cc,
          hasPayload,
          randomAccess,
          pcrTicks,
        });
      }
      // §2.4.3.3: continuity_counter increments with each packet carrying payload.
      if (hasPayload && pid !== TsPid.Null) {
        const last = this.#lastCc.get(pid);
        if (last !== undefined && cc !== ((last + 1) & 0x0f)) {
          continuityErrors.push({
            pid,
            packetIndex: index,
            expected: (last + 1) & 0x0f,
            got: cc,
          });
        }
        this.#lastCc.set(pid, cc);
      }
      if (!hasPayload) continue;
      const payload = p.subarray(o);
      if (pid === TsPid.Pat || pid === this.#pmtPid) {
        if (!payloadUnitStart) continue; // our sections always fit one packet
        const pointer = payload[0] ?? 0;
        const section = decodePsiSection(payload.subarray(1 + pointer));
        if (pid === TsPid.Pat) {
          pat = decodePat(section);
          const first = pat.programs.find((prog) => prog.programNumber !== 0);
          if (first) this.#pmtPid = first.pmtPid;
        } else {
          pmt = decodePmt(section);
        }
        continue;
      }
      if (payloadUnitStart) {
        finish(pid);
        open.set(pid, { parts: [payload], randomAccess });
      } else {
        open.get(pid)?.parts.push(payload);
      }
    }
    for (const pid of [...open.keys()]) finish(pid);
    return { packets, pat, pmt, pes, continuityErrors };
  }
}
