/**
 * TlsCertificates: a changed pair replaces the set and tells subscribers, unchanged files do
 * nothing, a file missing mid-rotation keeps the set and is logged once, and checks never
 * overlap.
 */
import assert from "node:assert/strict";
import { type Logger, silentLogger } from "../../../log/mod.ts";
import { TlsCertificates } from "../../../net/tls/mod.ts";
import { createTestCa, haveOpenssl } from "../../_helpers/tls.ts";

function capturing(): { log: Logger; errors: string[] } {
  const errors: string[] = [];
  const log: Logger = {
    ...silentLogger,
    error: (msg, fields) => errors.push(`${msg} ${JSON.stringify(fields)}`),
    child: () => log,
  };
  return { log, errors };
}

Deno.test({
  name:
    "TlsCertificates.check() swaps in a changed pair and tells subscribers; unchanged files do nothing",
  ignore: !haveOpenssl,
  async fn() {
    const ca = await createTestCa();
    const a = await ca.issue("a", { names: ["a.test"] });
    const certs = await TlsCertificates.open(
      { port: 0, ...a, certificates: [] },
      { reloadCheckMs: 0 },
      silentLogger,
    );
    try {
      const seen: string[][] = [];
      certs.onChange((set) => seen.push([...set.certificates[0]!.names]));
      assert.equal(await certs.check(), false);
      const old = certs.current;
      await ca.issue("a", { names: ["renamed.test"], ...a });
      // Two checks at once share one read.
      const [one, two] = [certs.check(), certs.check()];
      assert.equal(one, two);
      assert.equal(await one, true);
      assert.notEqual(certs.current, old);
      assert.deepEqual(seen, [["renamed.test"]]);
      assert.equal(certs.stats.reloads, 1);
      assert.equal(await certs.check(), false);
    } finally {
      certs.close();
      await ca.close();
    }
  },
});

Deno.test({
  name:
    "TlsCertificates.check() keeps the set while a file is missing, logging it once",
  ignore: !haveOpenssl,
  async fn() {
    const ca = await createTestCa();
    const a = await ca.issue("a", { names: ["a.test"] });
    const { log, errors } = capturing();
    const certs = await TlsCertificates.open(
      { port: 0, ...a, certificates: [] },
      { reloadCheckMs: 0 },
      log,
    );
    try {
      const kept = certs.current;
      await Deno.rename(a.keyFile, `${a.keyFile}.moved`);
      for (let i = 0; i < 3; i++) assert.equal(await certs.check(), false);
      assert.equal(certs.current, kept);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /Cannot read TLS file .*a\.key/);
      assert.equal(certs.stats.reloadErrors, 1);
      // Back as it was: nothing to load, and a later failure is logged again.
      await Deno.rename(`${a.keyFile}.moved`, a.keyFile);
      assert.equal(await certs.check(), false);
      await Deno.remove(a.keyFile);
      assert.equal(await certs.check(), false);
      assert.equal(errors.length, 2);
    } finally {
      certs.close();
      await ca.close();
    }
  },
});
