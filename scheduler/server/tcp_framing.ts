/**
 * DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): each message has a 2-byte length prefix.
 * An I/O-free reassembler: push bytes, take whole messages.
 *
 * @module
 */

/** Reassembles length-prefixed messages from a byte stream. */
export class TcpFramer {
  #buf = new Uint8Array(0);

  /**
   * Adds received bytes and returns every complete message.
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
    let buf: Uint8Array;
    if (this.#buf.length) {
      buf = new Uint8Array(this.#buf.length + chunk.length);
      buf.set(this.#buf);
      buf.set(chunk, this.#buf.length);
    } else buf = chunk;
    const out: Uint8Array[] = [];
    let p = 0;
    while (buf.length - p >= 2) {
      const len = (buf[p]! << 8) | buf[p + 1]!;
      if (buf.length - p - 2 < len) break;
      out.push(buf.slice(p + 2, p + 2 + len));
      p += 2 + len;
    }
    this.#buf = buf.slice(p);
    return out;
  }

  /** Bytes held of an incomplete message. */
  get pending(): number {
    return this.#buf.length;
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
