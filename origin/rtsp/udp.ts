/**
 * The two UDP sockets every RTSP session over UDP shares (`origin.rtsp.rtpPort`/`rtcpPort`,
 * as MediaMTX's rtpAddress/rtcpAddress): packets in are told apart by the client's address
 * and port that its SETUP named, packets out go to the ports it named. A datagram from an
 * address no session registered is dropped: UDP sources are not authenticated, so only the
 * RTSP client's own host, on the ports it declared, reaches a session.
 *
 * @module
 */

import type { Logger } from "../log.ts";

/** Largest datagram read (an RTP packet fits an MTU; UDP allows more). */
const MAX_DATAGRAM_BYTES = 65_535;

type Handler = (bytes: Uint8Array) => void;

/** A client's RTP and RTCP ports. */
export interface UdpPeer {
  readonly hostname: string;
  readonly rtpPort: number;
  readonly rtcpPort: number;
}

/** The shared sockets. */
export class RtspUdp {
  readonly #rtp: Deno.DatagramConn;
  readonly #rtcp: Deno.DatagramConn;
  readonly #handlers = new Map<string, Handler>();
  readonly #log: Logger;
  readonly #loops: Promise<void>[];
  #closed = false;
  dropped = 0;

  private constructor(
    rtp: Deno.DatagramConn,
    rtcp: Deno.DatagramConn,
    log: Logger,
  ) {
    this.#rtp = rtp;
    this.#rtcp = rtcp;
    this.#log = log;
    this.#loops = [this.#loop(rtp, "rtp"), this.#loop(rtcp, "rtcp")];
  }

  /**
   * Binds both ports (0: any free port; for RTCP then the RTP port + 1 when free).
   * @throws The system's error when a port is taken.
   */
  static open(
    hostname: string,
    rtpPort: number,
    rtcpPort: number,
    log: Logger,
  ): RtspUdp {
    const rtp = Deno.listenDatagram({
      transport: "udp",
      hostname,
      port: rtpPort,
    });
    let rtcp: Deno.DatagramConn;
    try {
      const bound = (rtp.addr as Deno.NetAddr).port;
      if (rtcpPort === 0) {
        try {
          rtcp = Deno.listenDatagram({
            transport: "udp",
            hostname,
            port: bound + 1,
          });
        } catch {
          rtcp = Deno.listenDatagram({ transport: "udp", hostname, port: 0 });
        }
      } else {rtcp = Deno.listenDatagram({
          transport: "udp",
          hostname,
          port: rtcpPort,
        });}
    } catch (e) {
      rtp.close();
      throw e;
    }
    return new RtspUdp(rtp, rtcp, log);
  }

  get rtpPort(): number {
    return (this.#rtp.addr as Deno.NetAddr).port;
  }

  get rtcpPort(): number {
    return (this.#rtcp.addr as Deno.NetAddr).port;
  }

  /** Routes datagrams from `hostname:port` on `kind`'s socket to `handler`; returns the undo. */
  register(
    kind: "rtp" | "rtcp",
    hostname: string,
    port: number,
    handler: Handler,
  ): () => void {
    const k = `${kind} ${hostname} ${port}`;
    this.#handlers.set(k, handler);
    return () => {
      if (this.#handlers.get(k) === handler) this.#handlers.delete(k);
    };
  }

  /** Sends one packet (fire and forget: a live packet late is a packet lost). */
  send(
    kind: "rtp" | "rtcp",
    bytes: Uint8Array,
    hostname: string,
    port: number,
  ): void {
    if (this.#closed) return;
    const sock = kind === "rtp" ? this.#rtp : this.#rtcp;
    sock.send(bytes, { transport: "udp", hostname, port }).catch(() => {
      this.dropped++;
    });
  }

  async #loop(sock: Deno.DatagramConn, kind: "rtp" | "rtcp"): Promise<void> {
    for (;;) {
      let got: [Uint8Array, Deno.Addr];
      try {
        got = await sock.receive(new Uint8Array(MAX_DATAGRAM_BYTES));
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        this.#log.debug("UDP receive failed", { kind, error: e });
        continue;
      }
      const [bytes, addr] = got;
      const a = addr as Deno.NetAddr;
      const h = this.#handlers.get(`${kind} ${a.hostname} ${a.port}`);
      if (!h) {
        this.dropped++;
        continue;
      }
      try {
        h(bytes);
      } catch (e) {
        this.#log.debug("UDP handler failed", { kind, error: e });
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#rtp.close();
    this.#rtcp.close();
    await Promise.all(this.#loops);
  }
}
