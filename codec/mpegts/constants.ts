/**
 * MPEG-TS numbers (ISO/IEC 13818-1) used by the muxer and the validator.
 *
 * @module
 */

/** Every transport packet is 188 bytes (§2.4.3.2). */
export const TS_PACKET_BYTES = 188;
/** The fixed 4-byte packet header. */
export const TS_HEADER_BYTES = 4;
/** Payload room of a packet without adaptation field. */
export const TS_PAYLOAD_BYTES = TS_PACKET_BYTES - TS_HEADER_BYTES;
/** sync_byte (§2.4.3.3). */
export const TS_SYNC_BYTE = 0x47;
/** PTS/DTS clock: 90 kHz (§2.4.3.7). */
export const TS_CLOCK_HZ = 90_000;
/** PTS, DTS and program_clock_reference_base are 33-bit counters. */
export const TS_TIMESTAMP_MODULUS = 2 ** 33;

/** PIDs we use. Video/audio/PMT PIDs match what ffmpeg writes, which eases comparisons. */
export const TsPid = {
  Pat: 0x0000,
  Pmt: 0x1000,
  Video: 0x0100,
  Audio: 0x0101,
  Null: 0x1fff,
} as const;

/** stream_type values (§2.4.4.9 Table 2-34; 0x1B from 14496-10 amendment, 0x24 HEVC). */
export const StreamType = {
  Mpeg1Audio: 0x03,
  Mpeg2Audio: 0x04,
  AacAdts: 0x0f,
  H264: 0x1b,
  H265: 0x24,
} as const;

/** stream_id of the PES packets we write (§2.4.3.7 Table 2-22). */
export const PesStreamId = { Audio: 0xc0, Video: 0xe0 } as const;

/** table_id (§2.4.4.4 Table 2-31). */
export const TableId = { Pat: 0x00, Pmt: 0x02 } as const;
