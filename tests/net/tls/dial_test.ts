/**
 * dialUrl(): TLS for rtmps:// and https:// (checked against a test CA), plain TCP for
 * rtmp:// and http://, an unknown CA refused, and a server that never answers the handshake
 * cut at the deadline.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../../log/mod.ts";
import {
  dialUrl,
  listenTls,
  TlsCertificates,
  TlsError,
} from "../../../net/tls/mod.ts";
import { createTestCa, haveOpenssl } from "../../_helpers/tls.ts";

Deno.test({
  name:
    "dialUrl() opens TLS for rtmps:// with the CA given, and refuses a certificate of an unknown CA",
  ignore: !haveOpenssl,
  async fn() {
    const ca = await createTestCa();
    const c = await ca.issue("origin", { names: ["localhost"] });
    const certs = await TlsCertificates.open(
      { port: 0, ...c, certificates: [] },
      { reloadCheckMs: 0 },
      silentLogger,
    );
    const listener = listenTls(
      { hostname: "127.0.0.1", port: 0, handshakeTimeoutMs: 5000 },
      certs,
    );
    const served = (async () => {
      for (;;) {
        const conn = await listener.accept().catch(() => undefined);
        if (!conn) return;
        await conn.write(new TextEncoder().encode("ok")).catch(() => {});
        conn.close();
      }
    })();
    try {
      const port = listener.addr.port;
      const conn = await dialUrl(new URL(`rtmps://127.0.0.1:${port}/live`), {
        caCerts: [ca.caPem],
        timeoutMs: 5000,
      });
      const buf = new Uint8Array(4);
      assert.equal(await conn.read(buf), 2);
      conn.close();
      // Without the CA: the built-in roots do not know it.
      await assert.rejects(
        dialUrl(new URL(`https://127.0.0.1:${port}/`), { timeoutMs: 5000 }),
        /certificate|UnknownIssuer/i,
      );
    } finally {
      listener.close();
      await served;
      certs.close();
      await ca.close();
    }
  },
});

Deno.test("dialUrl() uses plain TCP for rtmp:// and cuts a TLS server that never answers", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (silent.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for (;;) {
      const c = await silent.accept().catch(() => undefined);
      if (!c) return;
      held.push(c);
    }
  })();
  try {
    const plain = await dialUrl(new URL(`rtmp://127.0.0.1:${port}/live`), {
      timeoutMs: 2000,
    });
    plain.close();
    const t0 = Date.now();
    await assert.rejects(
      dialUrl(new URL(`rtmps://127.0.0.1:${port}/live`), { timeoutMs: 300 }),
      Deno.errors.TimedOut,
    );
    assert.ok(Date.now() - t0 < 3000);
    await assert.rejects(
      dialUrl(new URL("srt://127.0.0.1:1/"), { timeoutMs: 300 }),
      TlsError,
    );
  } finally {
    silent.close();
    await accepting;
    for (const c of held) c.close();
  }
});
