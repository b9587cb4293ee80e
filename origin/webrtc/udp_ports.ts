/**
 * The UDP ports of ICE candidates (`origin.webrtc.icePortMin..icePortMax`), bound without a race.
 *
 * werift 0.25's `UdpTransport` with a port range first probes a port (bind, close) and binds it
 * after an await. Every ICE gathering binds one socket per host address at once, so two sockets
 * of one peer (or of two offers answered together) can probe the same free port; the second bind
 * then fails with an `error` event that nothing listens to, an uncaught exception that ends the
 * whole origin (CI saw `bind EADDRINUSE 0.0.0.0:41202` from tests/origin/webrtc/routes_test.ts).
 *
 * {@link guardUdpPortRange} replaces that transport's `init` for the range case: each try binds
 * a fresh socket straight to a port (the bind is the test, so there is no gap for another socket
 * to take the port), a taken port moves on to the next, and the tries start after the last port
 * handed out (a port just freed is not reused at once, so stray packets of a closed session do
 * not reach a new one). When every port of the range is taken the init rejects with a
 * {@link UdpPortsExhaustedError}; werift then gathers without that address instead of crashing.
 * The version of werift is pinned in deno.json; tests/origin/webrtc/udp_ports_test.ts fails if
 * a new version changes the transport's shape.
 *
 * @module
 */

import { createSocket, type Socket, type SocketType } from "node:dgram";

/** Every port of the range was taken when a candidate's socket was bound. */
export class UdpPortsExhaustedError extends Error {
  constructor(
    readonly min: number,
    readonly max: number,
    readonly last: unknown,
  ) {
    super(
      `no free UDP port in origin.webrtc.icePortMin..icePortMax (${min}..${max}); last error: ${
        last instanceof Error ? last.message : String(last)
      }`,
    );
    this.name = "UdpPortsExhaustedError";
  }
}

/** The part of werift's `UdpTransport` this module relies on. */
interface RangeTransport {
  socketType: SocketType;
  socket: Socket;
  options: {
    port?: number;
    portRange?: [number, number];
    interfaceAddresses?: Partial<Record<SocketType, string>>;
  };
}

/** werift's `UdpTransport` class (its `init` is private in the typings, so the prototype is opaque). */
interface TransportClass {
  prototype: object;
}

const GUARDED = Symbol("meridian.udpPortGuard");

/** The next port to try first, per range (`min:max`). */
const cursors = new Map<string, number>();

/** Ports bound through the guard and not yet closed, for `/metrics` and tests. */
let held = 0;

/** UDP sockets of ICE candidates open now (bound through the guard). */
export function heldUdpPorts(): number {
  return held;
}

/**
 * Replaces `UdpTransport.prototype.init` of the loaded werift with the race-free bind (once).
 *
 * @throws {TypeError} When the class does not look like werift 0.25's transport.
 */
export function guardUdpPortRange(transport: TransportClass): void {
  const proto = transport.prototype as {
    init(): Promise<void>;
    [GUARDED]?: true;
  };
  if (proto[GUARDED]) return;
  const original = proto.init;
  if (typeof original !== "function") {
    throw new TypeError(
      "werift's UdpTransport has no init(): the pinned version changed",
    );
  }
  proto.init = function (this: RangeTransport): Promise<void> {
    const range = this.options?.portRange;
    if (this.options?.port || !range) return original.call(this);
    return bindInRange(this, range[0], range[1]);
  };
  proto[GUARDED] = true;
}

async function bindInRange(
  t: RangeTransport,
  min: number,
  max: number,
): Promise<void> {
  const key = `${min}:${max}`;
  const size = max - min + 1;
  const start = cursors.get(key) ?? min;
  const address = t.options.interfaceAddresses?.[t.socketType];
  let last: unknown;
  for (let i = 0; i < size; i++) {
    const port = min + ((start - min + i) % size);
    const socket = createSocket(t.socketType);
    const error = await bind(socket, port, address);
    if (error) {
      last = error;
      socket.close();
      continue;
    }
    cursors.set(key, port === max ? min : port + 1);
    adopt(t, socket);
    return;
  }
  throw new UdpPortsExhaustedError(min, max, last);
}

function bind(
  socket: Socket,
  port: number,
  address: string | undefined,
): Promise<unknown> {
  return new Promise((resolve) => {
    const onError = (e: unknown) => {
      socket.off("listening", onListening);
      resolve(e);
    };
    const onListening = () => {
      socket.off("error", onError);
      resolve(undefined);
    };
    socket.once("error", onError);
    socket.once("listening", onListening);
    try {
      socket.bind({ port, address });
    } catch (e) {
      onError(e);
    }
  });
}

/** The bound socket takes the place of the transport's unbound one, with its receive handler. */
function adopt(t: RangeTransport, socket: Socket): void {
  const unbound = t.socket;
  for (const l of unbound.listeners("message")) {
    socket.on("message", l as (msg: Uint8Array, rinfo: unknown) => void);
  }
  // A send to a vanished peer or a closed socket's late error must not end the process.
  socket.on("error", () => {});
  held++;
  socket.once("close", () => held--);
  t.socket = socket;
  try {
    unbound.close();
  } catch {
    // Never bound: nothing to release.
  }
}
