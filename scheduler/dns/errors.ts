/**
 * DNS errors: a query we must answer with an error RCODE, with what we could read of it.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

import type { RcodeValue } from "./constants.ts";

/** What was parsed before the query turned out malformed: enough to address the error reply. */
export interface PartialQuery {
  readonly id: number;
  readonly flags2: number;
  readonly flags3: number;
  /** Offset just past the question, when the one question was read. */
  readonly questionEnd?: number;
  /** The query carried an OPT record (then the reply carries one; RFC 6891 §7). */
  readonly hasOpt: boolean;
  readonly udpPayloadSize: number;
  readonly doBit: boolean;
}

/** A query that gets an error RCODE (FORMERR, NOTIMP, BADVERS). */
export class DnsQueryError extends CodedError<"DNS_QUERY"> {
  override name = "DnsQueryError";
  constructor(
    readonly rcode: RcodeValue,
    readonly reason: string,
    readonly partial: PartialQuery,
  ) {
    super("DNS_QUERY", `DNS query rejected (rcode ${rcode}): ${reason}`);
  }
}

/** A template record that cannot be written (bad config data reached the encoder). */
export class DnsEncodeError extends CodedError<"DNS_ENCODE"> {
  override name = "DnsEncodeError";
  constructor(message: string, options?: ErrorOptions) {
    super("DNS_ENCODE", message, options);
  }
}
