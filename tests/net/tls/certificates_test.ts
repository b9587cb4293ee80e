/**
 * loadCertificateSet() with certificates made by openssl at test time: names from the
 * subjectAltName (CN only without one), expiry, SNI selection over the set, and each way a
 * file can be unusable (missing, not PEM, a key that is not the certificate's, too large),
 * every one a TlsError naming the file.
 */
import assert from "node:assert/strict";
import {
  certificateFiles,
  loadCertificateSet,
  MAX_PEM_BYTES,
  TlsError,
  TlsErrorCode,
} from "../../../net/tls/mod.ts";
import { createTestCa, haveOpenssl } from "../../_helpers/tls.ts";

const opts = { ignore: !haveOpenssl };

Deno.test({
  name:
    "loadCertificateSet() reads names and expiry, and picks by SNI with the first as default",
  ...opts,
  async fn() {
    const ca = await createTestCa();
    try {
      const a = await ca.issue("a", { names: ["a.test", "*.a.test"], days: 2 });
      const b = await ca.issue("b", { names: ["b.test"] });
      const cnOnly = await ca.issue("cn", { cn: "cn.test", ips: [] });
      const set = await loadCertificateSet(certificateFiles({
        port: 0,
        certFile: a.certFile,
        keyFile: a.keyFile,
        certificates: [b, cnOnly],
      }));
      assert.deepEqual(set.certificates.map((c) => c.names), [
        ["a.test", "*.a.test"],
        ["b.test"],
        ["cn.test"],
      ]);
      const left = set.certificates[0]!.notAfterMs - Date.now();
      assert.ok(
        left > 86_400_000 && left <= 2 * 86_400_000 + 60_000,
        `${left}`,
      );
      assert.equal(set.select("b.test").certFile, b.certFile);
      assert.equal(set.select("x.a.test").certFile, a.certFile);
      assert.equal(set.select("cn.test").certFile, cnOnly.certFile);
      assert.equal(set.select("unknown.test").certFile, a.certFile);
      assert.equal(set.select("").certFile, a.certFile);
    } finally {
      await ca.close();
    }
  },
});

Deno.test({
  name:
    "loadCertificateSet() refuses unusable files with a TlsError naming the file",
  ...opts,
  async fn() {
    const ca = await createTestCa();
    try {
      const a = await ca.issue("a", { names: ["a.test"] });
      const b = await ca.issue("b", { names: ["b.test"] });
      const notPem = `${ca.dir}/not.pem`;
      await Deno.writeTextFile(notPem, "hello\n");
      const huge = `${ca.dir}/huge.pem`;
      await Deno.writeFile(huge, new Uint8Array(MAX_PEM_BYTES + 1));
      const cases: [
        string,
        { certFile: string; keyFile: string },
        string,
        RegExp,
      ][] = [
        [
          "missing",
          { certFile: `${ca.dir}/none.crt`, keyFile: a.keyFile },
          TlsErrorCode.Read,
          /none\.crt/,
        ],
        [
          "not PEM",
          { certFile: notPem, keyFile: a.keyFile },
          TlsErrorCode.Invalid,
          /not\.pem/,
        ],
        [
          "key swapped",
          { certFile: a.certFile, keyFile: b.keyFile },
          TlsErrorCode.KeyMismatch,
          /b\.key.*a\.crt/,
        ],
        [
          "key as cert",
          { certFile: a.keyFile, keyFile: a.keyFile },
          TlsErrorCode.Invalid,
          /a\.key/,
        ],
        [
          "too large",
          { certFile: huge, keyFile: a.keyFile },
          TlsErrorCode.Read,
          /huge\.pem.*more than/,
        ],
        [
          "a directory",
          { certFile: ca.dir, keyFile: a.keyFile },
          TlsErrorCode.Read,
          /not a regular file/,
        ],
      ];
      for (const [what, files, code, message] of cases) {
        await assert.rejects(
          loadCertificateSet([files]),
          (e) =>
            e instanceof TlsError && e.code === code && message.test(e.message),
          what,
        );
      }
      // The key's content never appears in an error.
      const err = await loadCertificateSet([{
        certFile: a.certFile,
        keyFile: b.keyFile,
      }])
        .then(() => undefined, (e: Error) => e);
      assert.ok(err && !err.message.includes("PRIVATE KEY"));
    } finally {
      await ca.close();
    }
  },
});
