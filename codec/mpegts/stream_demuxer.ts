/**
 * An incremental MPEG-TS demuxer for live ingest (SRT): bytes in any split (an SRT message is
 * usually seven packets), PAT and PMT followed, PES packets reassembled per PID and handed out
 * with their stream type, PTS and DTS (ISO/IEC 13818-1 §2.4.3, §2.4.4).
 *
 * What a live link does to a TS is tolerated, with counts: lost packets (a continuity counter
 * jump drops the PES in progress on that PID), scrambled packets, junk between packets (the
 * demuxer finds the next sync byte). What is not a TS at all is an error: no sync byte in
 * {@link MAX_RESYNC_BYTES}, or a PES larger than {@link MAX_PES_BYTES}.
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
import { decodePesHeader } from "./pes.ts";
import {
  decodePat,
  decodePmt,
  decodePsiSection,
  MAX_SECTION_LENGTH,
  type PmtStream,
} from "./psi.ts";

/** Junk bytes tolerated before a sync byte is found: ten packets' worth. */
export const MAX_RESYNC_BYTES = 10 * TS_PACKET_BYTES;
/** Largest PES reassembled (a 4K keyframe at a high rate is a few MiB). */
export const MAX_PES_BYTES = 16 * 1024 * 1024;
/** Elementary streams one program may list (ours have two; a PMT listing more is odd). */
export const MAX_PMT_STREAMS = 32;

/** One reassembled PES packet. */
export interface TsStreamPes {
  readonly pid: number;
  readonly streamType: number;
  readonly ptsTicks: number;
  readonly dtsTicks: number;
  /** The elementary stream bytes after the PES header. */
  readonly data: Uint8Array;
  /** random_access_indicator of the PES's first packet. */
  readonly randomAccess: boolean;
}

/** What the demuxer found. */
export type TsStreamEvent =
  | { readonly kind: "pmt"; readonly streams: readonly PmtStream[] }
  | { readonly kind: "pes"; readonly pes: TsStreamPes };

/** Counts of what the link damaged. */
export interface TsStreamStats {
  readonly packets: number;
  readonly continuityErrors: number;
  readonly scrambledPackets: number;
  readonly resyncBytes: number;
}

interface OpenPes {
  parts: Uint8Array[];
  bytes: number;
  expected: number;
  randomAccess: boolean;
}

/**
 * @example
 * ```ts
 * import { StreamType, TsMuxer, TsStreamDemuxer } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const mux = new TsMuxer({ audioStreamType: StreamType.AacAdts });
 * const bytes = new Uint8Array([...mux.writePsi(), ...mux.writeAudio({ ptsTicks: 9000, data: new Uint8Array(400) })]);
 * const d = new TsStreamDemuxer();
 * const events = [...d.push(bytes.subarray(0, 100)), ...d.push(bytes.subarray(100)), ...d.flush()];
 * assert.deepEqual(events.map((e) => e.kind), ["pmt", "pes"]);
 * ```
 */
export class TsStreamDemuxer {
  #carry = new Uint8Array(0);
  #pmtPid: number | undefined;
  #types = new Map<number, number>();
  #pmtVersion = -1;
  readonly #cc = new Map<number, number>();
  readonly #open = new Map<number, OpenPes>();
  readonly #sections = new Map<
    number,
    { parts: Uint8Array[]; bytes: number }
  >();
  #stats = {
    packets: 0,
    continuityErrors: 0,
    scrambledPackets: 0,
    resyncBytes: 0,
  };
  #junk = 0;

  get stats(): TsStreamStats {
    return { ...this.#stats };
  }

  /** The program's elementary streams (PID → stream_type), once a PMT was read. */
  get streams(): ReadonlyMap<number, number> {
    return this.#types;
  }

  /**
   * Takes bytes in any split.
   *
   * @throws {TsFormatError} `TS_BAD_SYNC` after {@link MAX_RESYNC_BYTES} bytes without a
   *   packet; `TS_BAD_PES` for a PES over {@link MAX_PES_BYTES} or with a bad header;
   *   `TS_BAD_PSI` for a PAT or PMT that fails its CRC or layout.
   */
  push(bytes: Uint8Array): TsStreamEvent[] {
    const out: TsStreamEvent[] = [];
    let buf = bytes;
    if (this.#carry.byteLength > 0) {
      const joined = new Uint8Array(this.#carry.byteLength + bytes.byteLength);
      joined.set(this.#carry, 0);
      joined.set(bytes, this.#carry.byteLength);
      buf = joined;
    }
    let o = 0;
    while (o + TS_PACKET_BYTES <= buf.byteLength) {
      if (buf[o] !== TS_SYNC_BYTE) {
        o++;
        this.#stats.resyncBytes++;
        if (++this.#junk > MAX_RESYNC_BYTES) {
          throw new TsFormatError(
            TsErrorCode.BadSync,
            `Cannot demux TS: no sync byte 0x47 in ${MAX_RESYNC_BYTES} bytes`,
          );
        }
        continue;
      }
      // A sync byte must be followed by another one a packet later, when there is one.
      if (
        o + TS_PACKET_BYTES < buf.byteLength &&
        buf[o + TS_PACKET_BYTES] !== TS_SYNC_BYTE && this.#junk > 0
      ) {
        o++;
        this.#stats.resyncBytes++;
        this.#junk++;
        continue;
      }
      this.#junk = 0;
      this.#packet(buf.subarray(o, o + TS_PACKET_BYTES), out);
      o += TS_PACKET_BYTES;
    }
    this.#carry = buf.slice(o);
    return out;
  }

  /** Completes the PES packets still open (the publisher left). */
  flush(): TsStreamEvent[] {
    const out: TsStreamEvent[] = [];
    for (const pid of [...this.#open.keys()]) this.#finish(pid, out);
    return out;
  }

  #packet(p: Uint8Array, out: TsStreamEvent[]): void {
    this.#stats.packets++;
    const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
    if (pid === TsPid.Null) return;
    const pusi = (p[1]! & 0x40) !== 0;
    const scrambling = p[3]! >> 6;
    const afc = (p[3]! >> 4) & 0x03;
    const cc = p[3]! & 0x0f;
    const hasPayload = (afc & 1) === 1;
    let o = TS_HEADER_BYTES;
    let randomAccess = false;
    let discontinuity = false;
    if (afc & 2) {
      const afLength = p[4]!;
      if (afLength > TS_PACKET_BYTES - TS_HEADER_BYTES - 1) return; // damaged: skip
      if (afLength > 0) {
        randomAccess = (p[5]! & 0x40) !== 0;
        discontinuity = (p[5]! & 0x80) !== 0;
      }
      o += 1 + afLength;
    }
    if (!hasPayload) return;
    // §2.4.3.3: the counter increments per packet with payload; a duplicate repeats it.
    const last = this.#cc.get(pid);
    this.#cc.set(pid, cc);
    if (last !== undefined && !discontinuity) {
      if (cc === last) return; // duplicate packet
      if (cc !== ((last + 1) & 0x0f)) {
        this.#stats.continuityErrors++;
        this.#open.delete(pid); // the PES in progress lost a piece
        this.#sections.delete(pid);
      }
    }
    if (scrambling !== 0) {
      this.#stats.scrambledPackets++;
      return;
    }
    const payload = p.subarray(o);
    if (pid === TsPid.Pat || pid === this.#pmtPid) {
      this.#psi(pid, pusi, payload, out);
      return;
    }
    const type = this.#types.get(pid);
    if (type === undefined) return;
    if (pusi) {
      this.#finish(pid, out);
      if (payload.byteLength < 6) return;
      const length = (payload[4]! << 8) | payload[5]!;
      this.#open.set(pid, {
        parts: [payload],
        bytes: payload.byteLength,
        expected: length === 0 ? 0 : 6 + length,
        randomAccess,
      });
    } else {
      const e = this.#open.get(pid);
      if (!e) return;
      e.parts.push(payload);
      e.bytes += payload.byteLength;
    }
    const e = this.#open.get(pid)!;
    if (e.bytes > MAX_PES_BYTES) {
      throw new TsFormatError(
        TsErrorCode.BadPes,
        `Cannot demux TS: PES on PID 0x${
          pid.toString(16)
        } must be at most ${MAX_PES_BYTES} bytes, got ${e.bytes}`,
      );
    }
    if (e.expected > 0 && e.bytes >= e.expected) this.#finish(pid, out);
  }

  #finish(pid: number, out: TsStreamEvent[]): void {
    const e = this.#open.get(pid);
    if (!e) return;
    this.#open.delete(pid);
    const all = new Uint8Array(e.bytes);
    let o = 0;
    for (const b of e.parts) {
      all.set(b, o);
      o += b.byteLength;
    }
    const bytes = e.expected > 0 ? all.subarray(0, e.expected) : all;
    const h = decodePesHeader(bytes);
    out.push({
      kind: "pes",
      pes: {
        pid,
        streamType: this.#types.get(pid) ?? 0,
        ptsTicks: h.ptsTicks,
        dtsTicks: h.dtsTicks ?? h.ptsTicks,
        data: bytes.subarray(h.headerBytes),
        randomAccess: e.randomAccess,
      },
    });
  }

  #psi(
    pid: number,
    pusi: boolean,
    payload: Uint8Array,
    out: TsStreamEvent[],
  ): void {
    let acc = this.#sections.get(pid);
    if (pusi) {
      const pointer = payload[0] ?? 0;
      acc = { parts: [payload.subarray(1 + pointer)], bytes: 0 };
      acc.bytes = acc.parts[0]!.byteLength;
      this.#sections.set(pid, acc);
    } else if (acc) {
      acc.parts.push(payload);
      acc.bytes += payload.byteLength;
    } else return;
    const head = acc.parts[0]!;
    if (head.byteLength < 3 && acc.parts.length === 1) return;
    const joined = acc.parts.length === 1 ? head : (() => {
      const j = new Uint8Array(acc!.bytes);
      let o = 0;
      for (const b of acc!.parts) {
        j.set(b, o);
        o += b.byteLength;
      }
      return j;
    })();
    if (joined[0] === 0xff) {
      this.#sections.delete(pid); // only stuffing
      return;
    }
    const need = 3 + (((joined[1]! & 0x0f) << 8) | joined[2]!);
    if (need > 3 + MAX_SECTION_LENGTH) {
      this.#sections.delete(pid);
      throw new TsFormatError(
        TsErrorCode.BadPsi,
        `Cannot demux TS: section_length ${need - 3} on PID 0x${
          pid.toString(16)
        } is over ${MAX_SECTION_LENGTH}`,
      );
    }
    if (joined.byteLength < need) return;
    this.#sections.delete(pid);
    const section = decodePsiSection(joined.subarray(0, need));
    if (pid === TsPid.Pat) {
      const prog = decodePat(section).programs.find((x) =>
        x.programNumber !== 0
      );
      if (prog) this.#pmtPid = prog.pmtPid;
      return;
    }
    const pmt = decodePmt(section);
    if (pmt.streams.length > MAX_PMT_STREAMS) {
      throw new TsFormatError(
        TsErrorCode.BadPsi,
        `Cannot demux TS: a PMT may list at most ${MAX_PMT_STREAMS} streams, got ${pmt.streams.length}`,
      );
    }
    if (pmt.version === this.#pmtVersion && this.#types.size > 0) return;
    this.#pmtVersion = pmt.version;
    this.#types = new Map(pmt.streams.map((s) => [s.pid, s.streamType]));
    out.push({ kind: "pmt", streams: pmt.streams });
  }
}
