/**
 * A listener's certificates, kept current: loaded at start-up (a bad file stops start-up
 * naming it), then read again every `reloadCheckMs`; when any file's content changed, the new
 * set is checked whole and, if good, replaces the old one and the listeners using it are told
 * (they rebind, `listener.ts`). A new set that is bad (unreadable, not PEM, a key that is not
 * the certificate's) keeps the old one serving; the error is logged once per content seen and
 * counted in `/metrics`.
 *
 * Why poll file contents rather than `Deno.watchFs` or mtimes: certificate tools replace files
 * by renaming, often behind symlinks (certbot's `live/` → `archive/`), which inotify watches of
 * the old inode miss, and `cp -p` keeps the mtime; reading two files of a few KiB every few
 * seconds costs nothing and sees every change.
 *
 * @module
 */

import type { TlsListenerConfig } from "../../config/mod.ts";
import type { Logger } from "../../log/mod.ts";
import {
  certificateFiles,
  type CertificateSet,
  certificateSet,
  describeCertificate,
  loadCertificateSet,
  readPem,
} from "./certificates.ts";

/** Counts of one TLS listener, shown in `/metrics` (see `metrics.ts`). */
export interface TlsStats {
  /** Handshakes completed. */
  handshakes: number;
  /** Handshakes that failed (protocol error, the client left). */
  handshakeErrors: number;
  /** Connections closed for not finishing the handshake in time. */
  handshakeTimeouts: number;
  /** Certificate sets loaded after start-up. */
  reloads: number;
  /** Changed files that could not be used (the old certificates kept serving). */
  reloadErrors: number;
  /** Listener generations opened after the first, by why. */
  rebinds: { reload: number; sniNames: number };
}

/** Options of {@link TlsCertificates.open}. */
export interface TlsCertificatesOptions {
  /** How often to read the files again (ms); 0 never. */
  readonly reloadCheckMs: number;
}

/**
 * The certificates of one TLS listener, reloaded when their files change.
 *
 * @example
 * ```ts ignore
 * const certs = await TlsCertificates.open(config.edge.tls, { reloadCheckMs: 10_000 }, log);
 * certs.onChange((set) => console.log(set.certificates[0]!.names));
 * certs.close();
 * ```
 */
export class TlsCertificates {
  readonly #config: TlsListenerConfig;
  readonly #log: Logger;
  /** The listener's logger (its listener logs rebinds and socket settings here). */
  readonly log: Logger;
  #current: CertificateSet;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking: Promise<boolean> | undefined;
  /** The contents of the last set that failed, so one bad file is logged once, not per poll. */
  #lastFailed = "";
  readonly #listeners = new Set<(set: CertificateSet) => void>();
  /** Counts of the listener serving these certificates. */
  readonly stats: TlsStats = {
    handshakes: 0,
    handshakeErrors: 0,
    handshakeTimeouts: 0,
    reloads: 0,
    reloadErrors: 0,
    rebinds: { reload: 0, sniNames: 0 },
  };

  private constructor(
    config: TlsListenerConfig,
    current: CertificateSet,
    log: Logger,
  ) {
    this.#config = config;
    this.#current = current;
    this.#log = log;
    this.log = log;
  }

  /**
   * Loads the listener's certificates and starts watching them.
   *
   * @throws {TlsError} When a file cannot be read or used (start-up stops, naming it).
   */
  static async open(
    config: TlsListenerConfig,
    options: TlsCertificatesOptions,
    log: Logger,
  ): Promise<TlsCertificates> {
    const set = await loadCertificateSet(certificateFiles(config));
    const certs = new TlsCertificates(config, set, log);
    certs.#logSet("TLS certificates loaded", set);
    if (options.reloadCheckMs > 0) {
      const timer = setInterval(
        () => void certs.check(),
        options.reloadCheckMs,
      );
      Deno.unrefTimer(timer);
      certs.#timer = timer;
    }
    return certs;
  }

  /** The set in use now. */
  get current(): CertificateSet {
    return this.#current;
  }

  /** Calls `fn` with each new set; returns the unsubscribe. */
  onChange(fn: (set: CertificateSet) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Reads the files now; when they changed and the new set is good, uses it.
   *
   * @returns True when a new set is in use.
   */
  check(): Promise<boolean> {
    // One check at a time: a slow disk never stacks reads up.
    this.#checking ??= this.#check().finally(() => this.#checking = undefined);
    return this.#checking;
  }

  async #check(): Promise<boolean> {
    const files = certificateFiles(this.#config);
    let texts: string[];
    try {
      texts = await Promise.all(
        files.flatMap((f) => [readPem(f.certFile), readPem(f.keyFile)]),
      );
    } catch (e) {
      this.#failed(`unreadable ${e instanceof Error ? e.message : e}`, e);
      return false;
    }
    const old = this.#current.certificates;
    const same = old.length === files.length &&
      old.every((c, i) =>
        c.cert === texts[2 * i] && c.key === texts[2 * i + 1]
      );
    if (same) {
      this.#lastFailed = "";
      return false;
    }
    let next: CertificateSet;
    try {
      next = certificateSet(
        files.map((f, i) =>
          describeCertificate(f, texts[2 * i]!, texts[2 * i + 1]!)
        ),
      );
    } catch (e) {
      this.#failed(texts.join("\0"), e);
      return false;
    }
    this.#current = next;
    this.#lastFailed = "";
    this.stats.reloads++;
    this.#logSet("TLS certificates reloaded", next);
    for (const fn of this.#listeners) fn(next);
    return true;
  }

  #failed(signature: string, error: unknown): void {
    if (signature === this.#lastFailed) return;
    this.#lastFailed = signature;
    this.stats.reloadErrors++;
    this.#log.error("TLS certificates not reloaded: the ones in use stay", {
      error: error instanceof Error ? error.message : String(error),
    });
  }

  #logSet(message: string, set: CertificateSet): void {
    this.#log.info(message, {
      certificates: set.certificates.map((c) => ({
        file: c.certFile,
        names: c.names,
        notAfter: new Date(c.notAfterMs).toISOString(),
        sha256: c.fingerprint,
      })),
    });
  }

  /** Stops watching the files. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }
}
