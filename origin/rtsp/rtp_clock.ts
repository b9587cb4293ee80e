/**
 * RTP timestamps of one RTSP session's tracks to the hub's millisecond clock.
 *
 * RTP timestamps start at a random value per track and wrap at 2^32 (RFC 3550 §5.1), so they
 * say nothing about how tracks line up. What does: an RTCP sender report (the RTP time of a
 * wall-clock instant, §6.4.1), or a PLAY answer's RTP-Info (each track's RTP time at the same
 * play instant, RFC 2326 §12.33). A track is anchored once, at its first packet, by the best
 * of these it has (sender report, RTP-Info, else its arrival time), then follows its own clock
 * unwrapped; tracks anchored the same way share a base, so they stay in sync. Pure: the
 * arrival time comes from the caller's clock.
 *
 * @module
 */

import { Unwrapper } from "../../codec/mpegts/es_reader.ts";

const RTP_MODULUS = 2 ** 32;

/** The base every track of a session shares. */
export class RtpSessionClock {
  readonly #now: () => number;
  #startMs: number | undefined;
  /** Hub ms = reference ms − base, per kind of reference. */
  readonly #bases = new Map<string, number>();

  /** @param now Monotonic-enough ms clock (arrival times). */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** Ms since the session's first packet (0 at it). */
  elapsed(): number {
    const t = this.#now();
    this.#startMs ??= t;
    return t - this.#startMs;
  }

  /** The base of `kind` (`ntp`, `info`), fixed by the first track anchored that way. */
  base(kind: string, referenceMs: number): number {
    let b = this.#bases.get(kind);
    if (b === undefined) {
      b = referenceMs - this.elapsed();
      this.#bases.set(kind, b);
    }
    return b;
  }
}

/**
 * One track's clock.
 *
 * @example
 * ```ts
 * import { RtpSessionClock, RtpTrackClock } from "./rtp_clock.ts";
 * import assert from "node:assert/strict";
 * let t = 1000;
 * const session = new RtpSessionClock(() => t);
 * const video = new RtpTrackClock(90000, session);
 * const audio = new RtpTrackClock(48000, session);
 * video.senderReport(1_000_000, 5000);   // RTP 5000 at NTP 1,000,000 ms
 * audio.senderReport(1_000_000, 777);
 * assert.equal(video.toMs(5000), 0);
 * t = 1100;
 * assert.equal(audio.toMs(777 + 4800), 100); // 100 ms later on both tracks
 * assert.equal(video.toMs(5000 + 9000), 100);
 * ```
 */
export class RtpTrackClock {
  readonly #rate: number;
  readonly #session: RtpSessionClock;
  readonly #unwrap = new Unwrapper(RTP_MODULUS);
  #sr: { ntpMs: number; ext: number } | undefined;
  #info: { rtptime: number; nptMs: number } | undefined;
  /** hub ms = (ext − #ext0) / rate × 1000 + #ms0 */
  #anchor: { ext0: number; ms0: number } | undefined;

  constructor(clockRate: number, session: RtpSessionClock) {
    this.#rate = clockRate > 0 ? clockRate : 90000;
    this.#session = session;
  }

  get clockRate(): number {
    return this.#rate;
  }

  /** An RTCP sender report of this track: RTP `rtpTimestamp` was at `ntpMs`. */
  senderReport(ntpMs: number, rtpTimestamp: number): void {
    if (this.#anchor) return; // anchored already: keep the track's own clock steady
    this.#sr = { ntpMs, ext: rtpTimestamp };
  }

  /** The PLAY answer's RTP-Info: this track's RTP time at play time `nptMs`. */
  rtpInfo(rtptime: number, nptMs = 0): void {
    if (!this.#anchor) this.#info = { rtptime, nptMs };
  }

  /** A packet's RTP timestamp on the hub's clock, ms (never below 0). */
  toMs(rtpTimestamp: number): number {
    const ext = this.#unwrap.unwrap(rtpTimestamp);
    if (!this.#anchor) {
      let ms0: number;
      const sr = this.#sr;
      const info = this.#info;
      if (sr) {
        // The SR's RTP time, brought next to this packet's across a wrap.
        const d = ((rtpTimestamp - sr.ext + RTP_MODULUS / 2) % RTP_MODULUS +
              RTP_MODULUS) % RTP_MODULUS - RTP_MODULUS / 2;
        const ntp = sr.ntpMs + (d * 1000) / this.#rate;
        ms0 = ntp - this.#session.base("ntp", ntp);
      } else if (info) {
        const d =
          ((rtpTimestamp - info.rtptime + RTP_MODULUS / 2) % RTP_MODULUS +
              RTP_MODULUS) % RTP_MODULUS - RTP_MODULUS / 2;
        const ref = info.nptMs + (d * 1000) / this.#rate;
        ms0 = ref - this.#session.base("info", ref);
      } else {
        ms0 = this.#session.elapsed();
      }
      this.#anchor = { ext0: ext, ms0 };
    }
    const ms = ((ext - this.#anchor.ext0) * 1000) / this.#rate +
      this.#anchor.ms0;
    return Math.max(0, ms);
  }
}
