/**
 * The libc UDP socket (udp_reuseport.ts): why it exists (Deno's own UDP sockets cannot share a
 * port on Linux), SO_REUSEPORT groups, and its errors.
 */
import assert from "node:assert/strict";
import { SchedulerError } from "../../../scheduler/errors.ts";
import { startReusePortUdpServer } from "../../../scheduler/server/udp_reuseport.ts";
import { udpAsk } from "../../_helpers/dns_wire.ts";

const LINUX = Deno.build.os === "linux";

Deno.test({
  name:
    "Deno.listenDatagram cannot share a UDP port (why workers use a libc socket)",
  ignore: !LINUX,
  fn() {
    const a = Deno.listenDatagram(
      {
        transport: "udp",
        hostname: "127.0.0.1",
        port: 0,
        reusePort: true,
      } as Deno.UdpListenOptions & { transport: "udp"; reusePort: boolean },
    );
    try {
      const port = (a.addr as Deno.NetAddr).port;
      assert.throws(() =>
        Deno.listenDatagram(
          {
            transport: "udp",
            hostname: "127.0.0.1",
            port,
            reusePort: true,
          } as Deno.UdpListenOptions & { transport: "udp"; reusePort: boolean },
        )
      );
      // Our own socket joins a group only with sockets that also set SO_REUSEPORT.
      assert.throws(
        () => startReusePortUdpServer("127.0.0.1", port, () => undefined, {}),
        (e) =>
          e instanceof SchedulerError && e.code === "SCHEDULER_SOCKET" &&
          e.message.startsWith(
            `Cannot bind DNS UDP port on 127.0.0.1:${port}: `,
          ) && /\(errno 98\)$/.test(e.message),
      );
    } finally {
      a.close();
    }
  },
});

Deno.test({
  name:
    "startReusePortUdpServer() refuses a host name (it binds an address) with SCHEDULER_PLATFORM",
  ignore: !LINUX,
  fn() {
    assert.throws(
      () =>
        startReusePortUdpServer("dns.meridian.test", 0, () => undefined, {}),
      (e) =>
        e instanceof SchedulerError && e.code === "SCHEDULER_PLATFORM" &&
        /got 'dns\.meridian\.test'$/.test(e.message),
    );
  },
});

Deno.test({
  name: "startReusePortUdpServer: two sockets on one port share the datagrams",
  ignore: !LINUX,
  async fn() {
    const counts = [0, 0];
    const a = startReusePortUdpServer("127.0.0.1", 0, (q) => {
      counts[0]!++;
      return q;
    }, {});
    const b = startReusePortUdpServer("127.0.0.1", a.port, (q) => {
      counts[1]!++;
      return q;
    }, {});
    try {
      for (let i = 0; i < 100; i++) {
        const q = new Uint8Array([i, 1, 2, 3]);
        assert.deepEqual(await udpAsk(a.port, q), q);
      }
      assert.equal(counts[0]! + counts[1]!, 100);
      assert.ok(counts[0]! > 0 && counts[1]! > 0, `spread ${counts}`);
    } finally {
      await a.close();
      await b.close();
    }
  },
});
