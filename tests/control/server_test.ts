import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { startControl } from "../../control/mod.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { openStore } from "../../store/mod.ts";
import { withTempDir } from "../store/_temp_store.ts";
import { TlsError } from "../../net/mod.ts";
import { assertPortFree, freeTcpPort } from "../_helpers/ports.ts";
import { createTestCa, haveOpenssl, tlsSection } from "../_helpers/tls.ts";

Deno.test("config: control, store and auth sections have their documented defaults", () => {
  const c = parseConfig({});
  assert.deepEqual(c.control, {
    hostname: "127.0.0.1",
    port: 8088,
    tls: { port: 8488, certFile: "", keyFile: "", certificates: [] },
    servicePassword: "",
    adminToken: "",
    defaultTokenDurationSeconds: 3600,
    defaultTokenUses: 0,
    operators: [],
    sessionSeconds: 28800,
    secureCookies: false,
    lockout: { maxFailures: 5, windowSeconds: 60, lockSeconds: 300 },
    accessLog: { enabled: false, format: "json", destination: "stdout" },
  });
  assert.deepEqual(c.store, { url: "", path: "" });
  assert.deepEqual(c.auth, {
    enabled: false,
    sessionSecret: "",
    sessionSeconds: 21600,
  });
  assert.throws(
    () => parseConfig({ control: { defaultTokenUses: -1 } }),
    /'control\.defaultTokenUses': got -1, expected an integer 0\.\.1000000000/,
  );
  assert.throws(
    () => parseConfig({ control: { lockout: { maxFailures: 0 } } }),
    /'control\.lockout\.maxFailures'/,
  );
});

Deno.test("startControl() serves the token service and admin API on a real port", async () => {
  await withTempDir(async (dir) => {
    const store = await openStore({ path: "" }, dir);
    const config = { ...parseConfig({}).control, port: 0 };
    const c = await startControl(config, {
      store,
      dataDir: dir,
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    try {
      assert.ok(c.port > 0);
      assert.equal(c.url, `http://127.0.0.1:${c.port}/`);
      // First start: both secrets generated, to be printed once by the caller.
      const { servicePassword, adminToken } = c.generated;
      assert.ok(servicePassword && adminToken);
      const res = await fetch(
        `${c.url}gettoken?token=${servicePassword}&format=json`,
      );
      assert.equal(res.status, 200);
      const { Token } = await res.json();
      assert.match(Token, /^[A-Za-z0-9]{16}$/);
      const list = await fetch(`${c.url}admin/tokens`, {
        headers: { Authorization: `Bearer ${adminToken}` },
      });
      assert.equal((await list.json()).tokens[0].token, Token);
      const health = await fetch(`${c.url}healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      await c.close();
    }
    // Second start: same secrets, nothing to print.
    const again = await startControl(config, {
      store,
      dataDir: dir,
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    await again.close();
    await store.close();
    assert.deepEqual(again.generated, {});
  });
});

Deno.test("startControl() never logs the secrets it generates", async () => {
  await withTempDir(async (dir) => {
    const lines: string[] = [];
    const { createLogger } = await import("../../log/mod.ts");
    const log = createLogger("control", {
      format: "json",
      level: "debug",
      write: (l) => lines.push(l),
    });
    const store = await openStore({ path: "" }, dir);
    const c = await startControl({ ...parseConfig({}).control, port: 0 }, {
      store,
      dataDir: dir,
      log,
      metrics: new MetricsRegistry(),
    });
    try {
      const res = await fetch(
        `${c.url}gettoken?token=${c.generated.servicePassword}`,
      );
      const token = await res.text();
      const bad = await fetch(`${c.url}gettoken?token=wrong-guess`);
      await bad.body?.cancel();
      const all = lines.join("\n");
      assert.ok(lines.length > 0);
      for (
        const secret of [
          c.generated.servicePassword!,
          c.generated.adminToken!,
          token,
        ]
      ) {
        assert.ok(!all.includes(secret), "a secret reached the log");
      }
    } finally {
      await c.close();
      await store.close();
    }
  });
});

Deno.test({
  name:
    "startControl() with control.tls serves the console and tokens over HTTPS; a key that is not the certificate's stops start-up and frees the HTTP port",
  ignore: !haveOpenssl,
  async fn() {
    const ca = await createTestCa();
    const cert = await ca.issue("control", { names: ["localhost"] });
    const other = await ca.issue("other", { names: ["other.test"] });
    const client = Deno.createHttpClient({ caCerts: [ca.caPem] });
    try {
      await withTempDir(async (dir) => {
        const store = await openStore({ path: "" }, dir);
        try {
          const config = {
            ...parseConfig({}).control,
            port: 0,
            tls: tlsSection(cert),
          };
          const c = await startControl(config, {
            store,
            dataDir: dir,
            log: silentLogger,
            metrics: new MetricsRegistry(),
          });
          try {
            assert.match(c.httpsUrl ?? "", /^https:\/\/127\.0\.0\.1:\d+\/$/);
            const base = c.httpsUrl!.replace("127.0.0.1", "localhost");
            const res = await fetch(
              `${base}gettoken?token=${c.generated.servicePassword}&format=json`,
              { client },
            );
            assert.equal(res.status, 200);
            assert.match((await res.json()).Token, /^[A-Za-z0-9]{16}$/);
          } finally {
            await c.close();
          }
          const port = freeTcpPort();
          await assert.rejects(
            startControl({
              ...config,
              port,
              tls: { ...tlsSection(cert), keyFile: other.keyFile },
            }, {
              store,
              dataDir: dir,
              log: silentLogger,
              metrics: new MetricsRegistry(),
            }),
            (e) => e instanceof TlsError && e.code === "TLS_KEY_MISMATCH",
          );
          assertPortFree(port);
        } finally {
          await store.close();
        }
      });
    } finally {
      client.close();
      await ca.close();
    }
  },
});
