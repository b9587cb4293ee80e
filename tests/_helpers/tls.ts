/**
 * Certificates for TLS tests, made with `openssl` at test time in a temporary directory (no
 * private key is ever committed): a test CA and leaf certificates it signs, each with the DNS
 * names and IP addresses a test asks for (EC P-256: fast to make).
 *
 * @module
 */

import { hasBinary, runPeer } from "./peers.ts";

/** True when `openssl` runs here (TLS tests skip with a reason otherwise). */
export const haveOpenssl = await (async () => {
  try {
    const out = await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
})();

/** ffmpeg built with TLS (for rtmps:// and https:// inputs and outputs). */
export async function ffmpegHasTls(): Promise<boolean> {
  if (!await hasBinary("ffmpeg")) return false;
  const out = await runPeer("ffmpeg", ["-hide_banner", "-protocols"], 10_000);
  return /^\s*rtmps\s*$/m.test(out.stdout) && /^\s*https\s*$/m.test(out.stdout);
}

/** A leaf certificate and its key: files and PEM text. */
export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

/** Options of {@link TestCa.issue}. */
export interface IssueOptions {
  /** subjectAltName DNS names. @default [] */
  readonly names?: readonly string[];
  /** subjectAltName IP addresses. @default ["127.0.0.1"] */
  readonly ips?: readonly string[];
  /** Subject CN. @default the first name, else "meridian test" */
  readonly cn?: string;
  /** Validity. @default 2 */
  readonly days?: number;
  /** Write the files here (replacing what is there) instead of new ones. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** A throwaway certificate authority in a temporary directory. */
export interface TestCa {
  readonly dir: string;
  /** The CA certificate, PEM file and text (what clients trust). */
  readonly caFile: string;
  readonly caPem: string;
  /** Issues a leaf certificate signed by this CA. */
  issue(label: string, options?: IssueOptions): Promise<TestCertificate>;
  /** Removes the directory. */
  close(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** Makes a test CA (`openssl req -x509`, EC P-256, valid 2 days). */
export async function createTestCa(): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-tls-" });
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=Meridian Test CA",
  ], dir);
  const caFile = `${dir}/ca.crt`;
  const caPem = await Deno.readTextFile(caFile);
  let serial = 1;
  return {
    dir,
    caFile,
    caPem,
    async issue(label, options = {}) {
      const names = options.names ?? [];
      const ips = options.ips ?? ["127.0.0.1"];
      const cn = options.cn ?? names[0] ?? "meridian test";
      const certFile = options.certFile ?? `${dir}/${label}.crt`;
      const keyFile = options.keyFile ?? `${dir}/${label}.key`;
      const n = serial++;
      const ext = `${dir}/${label}-${n}.ext`;
      const san = [
        ...names.map((x) => `DNS:${x}`),
        ...ips.map((x) => `IP:${x}`),
      ];
      await Deno.writeTextFile(
        ext,
        [
          "basicConstraints=CA:FALSE",
          "keyUsage=digitalSignature",
          "extendedKeyUsage=serverAuth",
          ...(san.length ? [`subjectAltName=${san.join(",")}`] : []),
        ].join("\n") + "\n",
      );
      // Written aside, then renamed over the target: a watcher never reads half a file.
      const tmpKey = `${dir}/${label}-${n}.key.tmp`;
      const tmpCert = `${dir}/${label}-${n}.crt.tmp`;
      await openssl([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        tmpKey,
        "-out",
        `${dir}/${label}-${n}.csr`,
        "-subj",
        `/CN=${cn}`,
      ], dir);
      await openssl([
        "x509",
        "-req",
        "-in",
        `${dir}/${label}-${n}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        String(1000 + n),
        "-out",
        tmpCert,
        "-days",
        String(options.days ?? 2),
        "-extfile",
        ext,
      ], dir);
      await Deno.rename(tmpKey, keyFile);
      await Deno.rename(tmpCert, certFile);
      return {
        certFile,
        keyFile,
        cert: await Deno.readTextFile(certFile),
        key: await Deno.readTextFile(keyFile),
      };
    },
    async close() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Opens TLS to 127.0.0.1:`port` asking for `serverName` (SNI; none for an IP literal), trusting
 * `caPem`, and returns the SHA-256 fingerprint of the certificate the server presented, read by
 * `openssl s_client` (a real peer, independent of Deno's TLS stack).
 */
export async function presentedFingerprint(
  port: number,
  serverName: string | undefined,
  caFile: string,
): Promise<{ fingerprint: string; verified: boolean; subject: string }> {
  const out = await runPeer("sh", [
    "-c",
    `openssl s_client -connect 127.0.0.1:${port} ${
      serverName ? `-servername ${serverName}` : "-noservername"
    } -CAfile ${caFile} </dev/null 2>/dev/null | tee /dev/stderr | openssl x509 -noout -fingerprint -sha256 -subject`,
  ], 15_000);
  const fp = /Fingerprint=([0-9A-F:]+)/i.exec(out.stdout)?.[1] ?? "";
  const subject = /subject=\s*(.*)/.exec(out.stdout)?.[1]?.trim() ?? "";
  return {
    fingerprint: fp.toUpperCase(),
    verified: /Verify return code: 0 \(ok\)/.test(out.stderr),
    subject,
  };
}

/** The SHA-256 fingerprint of a PEM certificate, as `openssl x509 -fingerprint` prints it. */
export async function fingerprintOf(certFile: string): Promise<string> {
  const out = await runPeer("openssl", [
    "x509",
    "-in",
    certFile,
    "-noout",
    "-fingerprint",
    "-sha256",
  ], 10_000);
  return (/Fingerprint=([0-9A-F:]+)/i.exec(out.stdout)?.[1] ?? "")
    .toUpperCase();
}

/** A listener's config section (`edge.tls`, `origin.rtmps`, …) serving `c` on `port`. */
export function tlsSection(
  c: TestCertificate,
  port = 0,
  more: readonly TestCertificate[] = [],
): {
  port: number;
  certFile: string;
  keyFile: string;
  certificates: { certFile: string; keyFile: string }[];
} {
  return {
    port,
    certFile: c.certFile,
    keyFile: c.keyFile,
    certificates: more.map((m) => ({
      certFile: m.certFile,
      keyFile: m.keyFile,
    })),
  };
}
