/**
 * listenTls() over real sockets, with certificates made by openssl at test time and checked by
 * openssl s_client (a peer independent of Deno's TLS stack) and Deno.startTls: SNI picks the
 * certificate, a changed file is served to new connections without a restart while open ones
 * go on, a bad new file keeps the old certificate, a client that never finishes its handshake
 * is cut at the deadline, a held port is refused, the resolver's name cache is bounded by
 * rebinding, and accepted connections have TCP_NODELAY.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../../log/mod.ts";
import type { Logger } from "../../../log/mod.ts";
import {
  connectionNoDelay,
  listenTls,
  type ReloadingTlsListener,
  TlsCertificates,
  type TlsListenOptions,
} from "../../../net/tls/mod.ts";
import { waitFor } from "../../_helpers/peers.ts";
import { holdTcpPort } from "../../_helpers/ports.ts";
import { readUntil } from "../../_helpers/sockets.ts";
import {
  createTestCa,
  fingerprintOf,
  haveOpenssl,
  presentedFingerprint,
  type TestCa,
} from "../../_helpers/tls.ts";

const opts = { ignore: !haveOpenssl };

/** Echoes what each connection sends until it closes; `close()` ends everything. */
function serveEcho(listener: ReloadingTlsListener): { close(): Promise<void> } {
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const loop = (async () => {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await listener.accept();
      } catch {
        break;
      }
      conns.add(c);
      const t = (async () => {
        const buf = new Uint8Array(1024);
        try {
          for (;;) {
            const n = await c.read(buf);
            if (n === null) break;
            await c.write(buf.subarray(0, n));
          }
        } catch {
          // reset, or closed by the handshake deadline
        } finally {
          conns.delete(c);
          try {
            c.close();
          } catch { /* closed */ }
        }
      })();
      tasks.add(t);
      t.finally(() => tasks.delete(t));
    }
  })();
  return {
    async close() {
      listener.close();
      await loop;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await Promise.all([...tasks]);
    },
  };
}

/** A listener on a free port over `certs`, echoing. */
function start(
  certs: TlsCertificates,
  options: Partial<TlsListenOptions> = {},
): { listener: ReloadingTlsListener; port: number; close(): Promise<void> } {
  const listener = listenTls({
    hostname: "127.0.0.1",
    port: 0,
    handshakeTimeoutMs: 5_000,
    ...options,
  }, certs);
  const echo = serveEcho(listener);
  return {
    listener,
    port: listener.addr.port,
    async close() {
      await echo.close();
      certs.close();
    },
  };
}

/** Connects with Deno's client, asking for `name`, trusting the test CA; echoes one line. */
async function echoOver(
  port: number,
  name: string,
  ca: TestCa,
): Promise<Deno.TlsConn> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await Deno.startTls(tcp, {
    hostname: name,
    caCerts: [ca.caPem],
  });
  await conn.write(new TextEncoder().encode("ping"));
  const buf = new Uint8Array(16);
  const n = await conn.read(buf);
  assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "ping");
  return conn;
}

Deno.test({
  name:
    "listenTls() serves the certificate the client names (SNI), the default for other names and for none",
  ...opts,
  async fn() {
    const ca = await createTestCa();
    const d = await ca.issue("default", { names: ["default.test"] });
    const a = await ca.issue("a", { names: ["a.test"] });
    const b = await ca.issue("b", { names: ["*.b.test"] });
    const certs = await TlsCertificates.open(
      {
        port: 0,
        certFile: d.certFile,
        keyFile: d.keyFile,
        certificates: [a, b],
      },
      { reloadCheckMs: 0 },
      silentLogger,
    );
    const server = start(certs);
    try {
      const want = {
        d: await fingerprintOf(d.certFile),
        a: await fingerprintOf(a.certFile),
        b: await fingerprintOf(b.certFile),
      };
      const cases: [string | undefined, string][] = [
        ["a.test", want.a],
        ["x.b.test", want.b],
        ["other.test", want.d],
        [undefined, want.d], // no SNI (an IP address in the URL)
      ];
      for (const [name, fp] of cases) {
        const got = await presentedFingerprint(server.port, name, ca.caFile);
        assert.equal(got.fingerprint, fp, `name ${name}`);
        assert.ok(got.verified, `name ${name} verifies against the test CA`);
      }
      // Deno's own client checks the name against the certificate it was given.
      (await echoOver(server.port, "y.b.test", ca)).close();
      (await echoOver(server.port, "a.test", ca)).close();
      assert.equal(certs.stats.handshakes >= 6, true);
    } finally {
      await server.close();
      await ca.close();
    }
  },
});

Deno.test({
  name:
    "listenTls() serves a renewed certificate to new connections without a restart, open ones go on",
  ...opts,
  async fn() {
    const ca = await createTestCa();
    const first = await ca.issue("edge", { names: ["edge.test"] });
    // Polled every 100 ms, as a deployment polls every tls.reloadCheckSeconds.
    const certs = await TlsCertificates.open(
      {
        port: 0,
        certFile: first.certFile,
        keyFile: first.keyFile,
        certificates: [],
      },
      { reloadCheckMs: 100 },
      silentLogger,
    );
    const server = start(certs);
    try {
      const before = await fingerprintOf(first.certFile);
      assert.equal(
        (await presentedFingerprint(server.port, "edge.test", ca.caFile))
          .fingerprint,
        before,
      );
      const open = await echoOver(server.port, "edge.test", ca);
      // Renewed in place (written aside and renamed over, as certbot and friends do).
      await ca.issue("edge", {
        names: ["edge.test"],
        certFile: first.certFile,
        keyFile: first.keyFile,
      });
      const after = await fingerprintOf(first.certFile);
      assert.notEqual(after, before);
      await waitFor(
        "the renewed certificate",
        async () =>
          (await presentedFingerprint(server.port, "edge.test", ca.caFile))
            .fingerprint === after,
        10_000,
        100,
      );
      assert.equal(certs.stats.reloads, 1);
      assert.equal(certs.stats.rebinds.reload, 1);
      assert.equal(server.listener.addr.port, server.port);
      // The connection made before the renewal still works.
      await open.write(new TextEncoder().encode("still"));
      const buf = new Uint8Array(16);
      const n = await open.read(buf);
      assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "still");
      open.close();
    } finally {
      await server.close();
      await ca.close();
    }
  },
});

Deno.test({
  name:
    "listenTls() keeps its certificate when the new file is bad, counts and logs it once, and takes the fixed one",
  ...opts,
  async fn() {
    const ca = await createTestCa();
    const good = await ca.issue("a", { names: ["a.test"] });
    const b = await ca.issue("b", { names: ["b.test"] });
    const errors: string[] = [];
    const log: Logger = {
      ...silentLogger,
      error: (msg, fields) => errors.push(`${msg} ${JSON.stringify(fields)}`),
      child: () => log,
    };
    const certs = await TlsCertificates.open(
      {
        port: 0,
        certFile: good.certFile,
        keyFile: good.keyFile,
        certificates: [b],
      },
      { reloadCheckMs: 0 },
      log,
    );
    const server = start(certs);
    try {
      const before = await fingerprintOf(good.certFile);
      const saved = await Deno.readTextFile(good.certFile);
      await Deno.writeTextFile(
        good.certFile,
        "-----BEGIN CERTIFICATE-----\ngarbage\n",
      );
      assert.equal(await certs.check(), false);
      assert.equal(await certs.check(), false); // the same bad content: not logged again
      assert.equal(certs.stats.reloadErrors, 1);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /a\.crt/);
      // A key that is not the certificate's (the renewal wrote only one of the two files).
      await Deno.writeTextFile(good.certFile, saved);
      await Deno.copyFile(b.keyFile, good.keyFile);
      assert.equal(await certs.check(), false);
      assert.equal(certs.stats.reloadErrors, 2);
      assert.match(errors[1]!, /not the key of/);
      // Still the old certificate, by name and by default.
      assert.equal(
        (await presentedFingerprint(server.port, "a.test", ca.caFile))
          .fingerprint,
        before,
      );
      assert.equal(certs.stats.rebinds.reload, 0);
      // Fixed: a new pair is taken.
      const renewed = await ca.issue("a", {
        names: ["a.test"],
        certFile: good.certFile,
        keyFile: good.keyFile,
      });
      assert.equal(await certs.check(), true);
      assert.equal(
        (await presentedFingerprint(server.port, "a.test", ca.caFile))
          .fingerprint,
        await fingerprintOf(renewed.certFile),
      );
    } finally {
      await server.close();
      await ca.close();
    }
  },
});

Deno.test({
  name:
    "listenTls() closes a client that opens TCP and never finishes the handshake, at handshakeTimeoutMs",
  ...opts,
  async fn() {
    const ca = await createTestCa();
    const c = await ca.issue("a", { names: ["a.test"] });
    const certs = await TlsCertificates.open(
      { port: 0, ...c, certificates: [] },
      { reloadCheckMs: 0 },
      silentLogger,
    );
    const server = start(certs, { handshakeTimeoutMs: 300 });
    try {
      // Silent: TCP only.
      const silent = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      const r = await readUntil(silent, 5_000);
      assert.equal(r.closed, true);
      assert.ok(r.ms >= 250 && r.ms < 3_000, `closed after ${r.ms} ms`);
      // Trickled: the first bytes of a ClientHello (a TLS record header), then nothing more.
      const trickle = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await trickle.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
      const t = await readUntil(trickle, 5_000);
      assert.equal(t.closed, true);
      assert.ok(t.ms < 3_000, `closed after ${t.ms} ms`);
      assert.equal(certs.stats.handshakeTimeouts, 2);
      // A real client within the deadline is served.
      (await echoOver(server.port, "a.test", ca)).close();
    } finally {
      await server.close();
      await ca.close();
    }
  },
});

Deno.test({
  name:
    "listenTls() refuses a port another socket holds (no silent SO_REUSEPORT share)",
  ...opts,
  async fn() {
    const ca = await createTestCa();
    const c = await ca.issue("a", { names: ["a.test"] });
    const certs = await TlsCertificates.open(
      { port: 0, ...c, certificates: [] },
      { reloadCheckMs: 0 },
      silentLogger,
    );
    const held = holdTcpPort();
    try {
      assert.throws(
        () =>
          listenTls({
            hostname: "127.0.0.1",
            port: held.port,
            handshakeTimeoutMs: 1000,
          }, certs),
        Deno.errors.AddrInUse,
      );
    } finally {
      held.close();
      certs.close();
      await ca.close();
    }
  },
});

Deno.test({
  name:
    "listenTls() with several certificates replaces a generation that resolved too many names, serving on",
  ...opts,
  async fn() {
    const ca = await createTestCa();
    const d = await ca.issue("d", { names: ["d.test"] });
    const w = await ca.issue("w", { names: ["*.w.test"] });
    const certs = await TlsCertificates.open(
      { port: 0, ...d, certificates: [w] },
      { reloadCheckMs: 0 },
      silentLogger,
    );
    const server = start(certs, { maxResolvedNames: 3 });
    try {
      for (let i = 0; i < 5; i++) {
        (await echoOver(server.port, `n${i}.w.test`, ca)).close();
      }
      await waitFor(
        "a rebind for the name cache",
        () => certs.stats.rebinds.sniNames >= 1,
        5_000,
        50,
      );
      // The next generation answers names as the first did.
      (await echoOver(server.port, "again.w.test", ca)).close();
      (await echoOver(server.port, "d.test", ca)).close();
    } finally {
      await server.close();
      await ca.close();
    }
  },
});

Deno.test({
  name:
    "listenTls() connections have TCP_NODELAY (inherited from the listener)",
  ignore: !haveOpenssl || Deno.build.os !== "linux",
  async fn() {
    const ca = await createTestCa();
    const c = await ca.issue("a", { names: ["a.test"] });
    const certs = await TlsCertificates.open(
      { port: 0, ...c, certificates: [] },
      { reloadCheckMs: 0 },
      silentLogger,
    );
    const server = start(certs);
    try {
      const conn = await echoOver(server.port, "a.test", ca);
      const flags = connectionNoDelay(server.port);
      assert.ok(flags.size >= 1, "the accepted connection is found");
      assert.deepEqual([...flags.values()].filter((v) => !v), []);
      conn.close();
    } finally {
      await server.close();
      await ca.close();
    }
  },
});
