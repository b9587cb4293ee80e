/**
 * werift's ICE sockets bound from `origin.webrtc.icePortMin..icePortMax` (origin/webrtc/udp_ports.ts).
 *
 * CI once died with an uncaught `bind EADDRINUSE 0.0.0.0:41202` from routes_test.ts: werift
 * probes a port, closes it and binds it after an await, and another test process's port-0 socket
 * (41202 is inside Linux's ephemeral range, 32768..60999) took it in that gap; the bind's `error`
 * event had no listener. That gap is not reproducible on demand, so these tests show what the
 * guard does instead: every socket is bound straight to its port (a held port is skipped, the
 * socket that bound is the one werift receives on), a full range is a clear rejection, and a port
 * just freed is not handed out again at once (the last two fail without the guard). The WebRTC
 * tests' ranges now sit below the ephemeral range, as the default 20000..20999 does.
 */

import assert from "node:assert/strict";
import { loadWerift } from "../../../origin/webrtc/peer.ts";
import {
  heldUdpPorts,
  UdpPortsExhaustedError,
} from "../../../origin/webrtc/udp_ports.ts";

type Transport = {
  port: number;
  close(): Promise<void>;
  send(data: Uint8Array, addr: [string, number]): Promise<void>;
  onData: (data: Uint8Array, addr: [string, number]) => void;
};

async function init(range: [number, number]): Promise<Transport> {
  const w = await loadWerift();
  const cls = w.UdpTransport as unknown as {
    init(
      type: "udp4",
      options: { portRange: [number, number] },
    ): Promise<Transport>;
  };
  return await cls.init("udp4", { portRange: range });
}

Deno.test("webrtc udp ports: 12 sockets bound at once on one range get 12 distinct ports of it", async () => {
  const range: [number, number] = [27_100, 27_111];
  const before = heldUdpPorts();
  const all = await Promise.all(Array.from({ length: 12 }, () => init(range)));
  try {
    const ports = all.map((t) => t.port).sort((a, b) => a - b);
    assert.deepEqual(ports, Array.from({ length: 12 }, (_, i) => 27_100 + i));
    assert.equal(heldUdpPorts(), before + 12);
    // The 13th finds the range full: a clear rejection, not an uncaught error.
    await assert.rejects(init(range), (e) => {
      assert.ok(e instanceof UdpPortsExhaustedError, String(e));
      assert.match(e.message, /27100\.\.27111/);
      return true;
    });
  } finally {
    await Promise.all(all.map((t) => t.close()));
  }
  assert.equal(heldUdpPorts(), before);
});

Deno.test("webrtc udp ports: a port another socket holds is skipped, and the bound socket receives", async () => {
  const squatter = Deno.listenDatagram({
    transport: "udp",
    hostname: "0.0.0.0",
    port: 27_200,
  });
  const a = await init([27_200, 27_203]);
  const b = await init([27_200, 27_203]);
  try {
    assert.notEqual(a.port, 27_200);
    assert.notEqual(b.port, 27_200);
    assert.notEqual(a.port, b.port);
    // The adopted socket kept werift's receive path: a datagram sent to it reaches onData.
    const got = new Promise<Uint8Array>((resolve) => {
      a.onData = (data) => resolve(data);
    });
    await b.send(new Uint8Array([1, 2, 3]), ["127.0.0.1", a.port]);
    assert.deepEqual([...await got], [1, 2, 3]);
  } finally {
    squatter.close();
    await a.close();
    await b.close();
  }
});

Deno.test("webrtc udp ports: a port freed is not handed out again at once", async () => {
  const range: [number, number] = [27_300, 27_303];
  const first = await init(range);
  const port = first.port;
  await first.close();
  const next = await init(range);
  try {
    assert.notEqual(next.port, port);
  } finally {
    await next.close();
  }
});
