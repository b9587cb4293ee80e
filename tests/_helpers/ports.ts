/**
 * Ports for start-up tests: one held by the test (so the server under test cannot bind it),
 * one free a moment ago, and a check that a port is free again after a failed start.
 *
 * @module
 */

import assert from "node:assert/strict";

/** A TCP port this test holds on 127.0.0.1; close it when done. */
export function holdTcpPort(): { readonly port: number; close(): void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return { port: (l.addr as Deno.NetAddr).port, close: () => l.close() };
}

/** A TCP port that was free a moment ago (the server under test binds it next). */
export function freeTcpPort(): number {
  const held = holdTcpPort();
  held.close();
  return held.port;
}

/**
 * Asserts that nobody holds `port` on 127.0.0.1 any more, by binding it (TCP, or UDP for a DNS
 * port) and letting it go.
 */
export function assertPortFree(
  port: number,
  transport: "tcp" | "udp" = "tcp",
): void {
  let l: { close(): void };
  try {
    l = transport === "tcp"
      ? Deno.listen({ hostname: "127.0.0.1", port })
      : Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port });
  } catch (e) {
    assert.fail(`${transport} port ${port} is still bound: ${e}`);
  }
  l.close();
}
