/**
 * Puts a WHIP publisher's RTP back in sequence order. WebRTC repairs loss by NACK and
 * retransmission (RFC 4585 §6.2.1, RFC 4588), so a repaired packet arrives after those sent
 * after it; the RTSP ingest's {@link RtpSequence} would drop it as late. Here a gap is held
 * open for {@link ReorderOptions.maxWaitMs} (about one retransmission round trip) or
 * {@link ReorderOptions.maxPackets} packets, then given up as lost, and the depacketizer is
 * told so it drops the broken access unit.
 *
 * I/O-free: time is passed in with each packet (`nowMs`) and to {@link RtpReorderBuffer.poll}.
 *
 * @module
 */

/** A packet in, with the fields ordering needs. */
export interface SequencedPacket {
  readonly sequence: number;
}

/** What comes out: packets in order, `lost` when one or more before it never came. */
export interface Ordered<P> {
  readonly packet: P;
  readonly lost: boolean;
}

/** Options of {@link RtpReorderBuffer}. */
export interface ReorderOptions {
  /** A gap is waited for at most this long (ms). */
  readonly maxWaitMs: number;
  /** ...and while at most this many packets wait behind it. */
  readonly maxPackets: number;
}

/** Defaults: a loopback or LAN retransmission comes well within 100 ms. */
export const DEFAULT_REORDER: ReorderOptions = {
  maxWaitMs: 100,
  maxPackets: 512,
};

/** Sequence distance `a - b` in 16-bit arithmetic, in -32768..32767. */
function seqDelta(a: number, b: number): number {
  return ((a - b + 0x8000) & 0xffff) - 0x8000;
}

/**
 * @example
 * ```ts
 * import { RtpReorderBuffer } from "./reorder.ts";
 * import assert from "node:assert/strict";
 * const r = new RtpReorderBuffer<{ sequence: number }>({ maxWaitMs: 100, maxPackets: 8 });
 * assert.deepEqual(r.push({ sequence: 1 }, 0).map((o) => o.packet.sequence), [1]);
 * assert.deepEqual(r.push({ sequence: 3 }, 1), []); // 2 is missing: held
 * assert.deepEqual(r.push({ sequence: 2 }, 2).map((o) => o.packet.sequence), [2, 3]);
 * ```
 */
export class RtpReorderBuffer<P extends SequencedPacket> {
  readonly #o: ReorderOptions;
  /** The sequence number expected next; undefined before the first packet. */
  #next: number | undefined;
  readonly #held = new Map<number, { packet: P; atMs: number }>();
  /** Counters for the session's close line. */
  readonly stats = { lost: 0, duplicate: 0, reordered: 0 };

  constructor(options: ReorderOptions = DEFAULT_REORDER) {
    this.#o = options;
  }

  /** Packets waiting behind a gap. */
  get held(): number {
    return this.#held.size;
  }

  /** One packet; returns what is now in order. */
  push(packet: P, nowMs: number): Ordered<P>[] {
    const out: Ordered<P>[] = [];
    const seq = packet.sequence & 0xffff;
    if (this.#next === undefined) {
      this.#next = seq;
    }
    const d = seqDelta(seq, this.#next);
    if (d < 0) {
      // Before the next expected: already given up (or a duplicate). A jump far back is a
      // restarted sender: start over at it.
      if (d < -this.#o.maxPackets * 4) {
        this.#reset(seq, out);
      } else {
        this.stats.duplicate++;
        return out;
      }
    } else if (d > this.#o.maxPackets * 4) {
      // A jump far ahead: the sender restarted its numbering; what is held is flushed.
      this.#reset(seq, out);
    }
    if (this.#held.has(seq)) {
      this.stats.duplicate++;
      return out;
    }
    if (seq !== this.#next) this.stats.reordered++;
    this.#held.set(seq, { packet, atMs: nowMs });
    this.#drain(out, false);
    this.#expire(out, nowMs);
    return out;
  }

  /** Gives up gaps older than `maxWaitMs` (call on a timer when no packet comes). */
  poll(nowMs: number): Ordered<P>[] {
    const out: Ordered<P>[] = [];
    this.#expire(out, nowMs);
    return out;
  }

  #reset(seq: number, out: Ordered<P>[]): void {
    // Flush everything held in its own order, then continue from `seq`.
    while (this.#held.size > 0) this.#skipToOldest(out);
    this.#next = seq;
  }

  /** Emits the run of consecutive packets at `#next`; `lost` marks the first of them. */
  #drain(out: Ordered<P>[], lost: boolean): void {
    let first = lost;
    for (;;) {
      const h = this.#held.get(this.#next!);
      if (!h) return;
      this.#held.delete(this.#next!);
      out.push({ packet: h.packet, lost: first });
      first = false;
      this.#next = (this.#next! + 1) & 0xffff;
    }
  }

  /** Declares the gap before the oldest held packet lost and moves on to it. */
  #skipToOldest(out: Ordered<P>[]): void {
    let best: number | undefined;
    for (const s of this.#held.keys()) {
      if (best === undefined || seqDelta(s, best) < 0) best = s;
    }
    if (best === undefined) return;
    this.stats.lost += seqDelta(best, this.#next!);
    this.#next = best;
    this.#drain(out, true);
  }

  #expire(out: Ordered<P>[], nowMs: number): void {
    while (this.#held.size > 0) {
      let oldestAt = Infinity;
      for (const h of this.#held.values()) {
        oldestAt = Math.min(oldestAt, h.atMs);
      }
      if (
        this.#held.size <= this.#o.maxPackets &&
        nowMs - oldestAt < this.#o.maxWaitMs
      ) return;
      this.#skipToOldest(out);
    }
  }
}
