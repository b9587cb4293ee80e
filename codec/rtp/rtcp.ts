/**
 * RTCP (RFC 3550 §6): sender reports read from publishers and cameras (they map RTP time to
 * wall-clock time, which lines tracks up), and the compound packets we send: SR + SDES CNAME
 * for our players (§6.4.1, §6.5), RR + SDES for the cameras we pull.
 *
 * @module
 */

import { RtpErrorCode, RtpFormatError } from "./packet.ts";

/** RTCP packet types (§12.1). */
export const RtcpType = {
  Sr: 200,
  Rr: 201,
  Sdes: 202,
  Bye: 203,
  App: 204,
} as const;
/** Seconds between 1900 (NTP's epoch) and 1970. */
const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

/** What a sender report says. */
export interface RtcpSenderReport {
  readonly ssrc: number;
  /** The report's wall-clock time, Unix ms (from the 64-bit NTP timestamp). */
  readonly ntpMs: number;
  readonly rtpTimestamp: number;
  readonly packets: number;
  readonly octets: number;
}

/**
 * The sender reports of a compound packet (others skipped).
 *
 * @throws {RtpFormatError} `RTP_BAD_PACKET` for a packet whose length runs past the end.
 *
 * @example
 * ```ts
 * import { encodeSenderReport, parseSenderReports } from "./rtcp.ts";
 * import assert from "node:assert/strict";
 * const b = encodeSenderReport({ ssrc: 5, ntpMs: 1_700_000_000_000, rtpTimestamp: 90000, packets: 3, octets: 900 }, "meridian");
 * assert.deepEqual(parseSenderReports(b), [{ ssrc: 5, ntpMs: 1_700_000_000_000, rtpTimestamp: 90000, packets: 3, octets: 900 }]);
 * ```
 */
export function parseSenderReports(b: Uint8Array): RtcpSenderReport[] {
  const out: RtcpSenderReport[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  while (o + 4 <= b.byteLength) {
    if (b[o]! >> 6 !== 2) {
      throw new RtpFormatError(
        RtpErrorCode.BadPacket,
        `Cannot decode RTCP: version must be 2, got ${b[o]! >> 6}`,
      );
    }
    const type = b[o + 1]!;
    const len = 4 * (v.getUint16(o + 2) + 1);
    if (o + len > b.byteLength) {
      throw new RtpFormatError(
        RtpErrorCode.BadPacket,
        `Cannot decode RTCP: packet of ${len} bytes at ${o} runs past ${b.byteLength}`,
      );
    }
    if (type === RtcpType.Sr && len >= 28) {
      const sec = v.getUint32(o + 8);
      const frac = v.getUint32(o + 12);
      out.push({
        ssrc: v.getUint32(o + 4),
        ntpMs: Math.round(
          (sec - NTP_UNIX_OFFSET_SECONDS) * 1000 + (frac / 2 ** 32) * 1000,
        ),
        rtpTimestamp: v.getUint32(o + 16),
        packets: v.getUint32(o + 20),
        octets: v.getUint32(o + 24),
      });
    }
    o += len;
  }
  return out;
}

function sdes(ssrc: number, cname: string): Uint8Array {
  const name = new TextEncoder().encode(cname.slice(0, 255));
  const chunk = 4 + 2 + name.byteLength + 1; // ssrc, CNAME item, end
  const padded = Math.ceil(chunk / 4) * 4;
  const out = new Uint8Array(4 + padded);
  const v = new DataView(out.buffer);
  out[0] = 0x81; // V=2, SC=1
  out[1] = RtcpType.Sdes;
  v.setUint16(2, padded / 4);
  v.setUint32(4, ssrc >>> 0);
  out[8] = 1; // CNAME
  out[9] = name.byteLength;
  out.set(name, 10);
  return out;
}

/** A compound SR (no report blocks) + SDES CNAME. */
export function encodeSenderReport(
  sr: RtcpSenderReport,
  cname: string,
): Uint8Array {
  const report = new Uint8Array(28);
  const v = new DataView(report.buffer);
  report[0] = 0x80;
  report[1] = RtcpType.Sr;
  v.setUint16(2, 6);
  v.setUint32(4, sr.ssrc >>> 0);
  const ms = sr.ntpMs;
  const sec = Math.floor(ms / 1000);
  v.setUint32(8, (sec + NTP_UNIX_OFFSET_SECONDS) >>> 0);
  v.setUint32(12, Math.floor(((ms - sec * 1000) / 1000) * 2 ** 32) >>> 0);
  v.setUint32(16, sr.rtpTimestamp >>> 0);
  v.setUint32(20, sr.packets >>> 0);
  v.setUint32(24, sr.octets >>> 0);
  const s = sdes(sr.ssrc, cname);
  const out = new Uint8Array(report.byteLength + s.byteLength);
  out.set(report);
  out.set(s, report.byteLength);
  return out;
}

/** A compound empty RR + SDES CNAME: "we are here", for a camera's keep-alive. */
export function encodeReceiverReport(ssrc: number, cname: string): Uint8Array {
  const rr = new Uint8Array(8);
  rr[0] = 0x80;
  rr[1] = RtcpType.Rr;
  rr[3] = 1;
  new DataView(rr.buffer).setUint32(4, ssrc >>> 0);
  const s = sdes(ssrc, cname);
  const out = new Uint8Array(rr.byteLength + s.byteLength);
  out.set(rr);
  out.set(s, rr.byteLength);
  return out;
}
