/**
 * What a geo lookup returns, independent of the database behind it.
 *
 * @module
 */

import type { ContinentCode } from "./continents.ts";

/** Where an address is, as far as the database knows. Every field may be missing. */
export interface GeoRecord {
  readonly continent?: ContinentCode;
  /** ISO 3166-1 alpha-2. */
  readonly country?: string;
  /** State, province or other first-level subdivision (a name or an ISO code). */
  readonly region?: string;
  readonly city?: string;
  readonly latitude?: number;
  readonly longitude?: number;
}

/** The answer for one address. */
export interface GeoResult {
  /** `undefined`: no record (unknown, reserved or private address). */
  readonly record: GeoRecord | undefined;
  /**
   * Length of the database network holding the address: every address in that network gets
   * the same record, so a DNS answer decided from it is valid for that whole prefix
   * (RFC 7871 §7.2.1, SCOPE PREFIX-LENGTH).
   */
  readonly prefixLength: number;
  /** The address is private, loopback or otherwise special-purpose (RFC 6890). */
  readonly reserved: boolean;
}

/** Anything that maps addresses to places. */
export interface GeoLookup {
  /** Looks up an address given as text or bytes (4 or 16). */
  lookup(address: string | Uint8Array): GeoResult;
}
