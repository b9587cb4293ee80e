/**
 * DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): each message has a 2-byte length prefix.
 * An I/O-free reassembler: push bytes, take whole messages.
 *
 * @module
 */

/** Reassembles length-prefixed messages from a byte stream. */
export class TcpFramer {
  /** The message being filled (sized by its prefix), and how much of it has arrived. */
  #message: Uint8Array | undefined;
  #have = 0;
  /** The first byte of a length prefix split across reads, or -1. */
  #prefixHigh = -1;

  /**
   * Adds received bytes and returns every complete message. Each byte is copied once, into a
   * buffer of the size the prefix announced (at most 65535): a message trickled a byte per
   * read costs no more than one sent whole.
   *
   * @example
   * ```ts
   * import { TcpFramer } from "./tcp_framing.ts";
   * const f = new TcpFramer();
   * if (f.push(new Uint8Array([0, 2, 7])).length !== 0) throw new Error("partial");
   * if (f.push(new Uint8Array([8]))[0]?.length !== 2) throw new Error("whole");
   * ```
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let p = 0;
    while (p < chunk.length) {
      if (!this.#message) {
        let len: number;
        if (this.#prefixHigh >= 0) {
          len = (this.#prefixHigh << 8) | chunk[p]!;
          this.#prefixHigh = -1;
          p += 1;
        } else if (chunk.length - p >= 2) {
          len = (chunk[p]! << 8) | chunk[p + 1]!;
          p += 2;
        } else {
          this.#prefixHigh = chunk[p]!;
          p += 1;
          break;
        }
        this.#message = new Uint8Array(len);
        this.#have = 0;
      }
      const take = Math.min(
        this.#message.length - this.#have,
        chunk.length - p,
      );
      this.#message.set(chunk.subarray(p, p + take), this.#have);
      this.#have += take;
      p += take;
      if (this.#have === this.#message.length) {
        out.push(this.#message);
        this.#message = undefined;
      }
    }
    return out;
  }

  /** Bytes held of an incomplete message (its length prefix included). */
  get pending(): number {
    if (this.#message) return 2 + this.#have;
    return this.#prefixHigh >= 0 ? 1 : 0;
  }
}

/** Prefixes a message with its 2-byte length. */
export function frameMessage(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(message.length + 2);
  out[0] = message.length >> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}
