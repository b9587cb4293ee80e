/**
 * `/api/explain`: what a steered name answers for a client address or subnet, step by step,
 * from the same chain and edge views the DNS answers use.
 *
 * @module
 */

import {
  formatIp,
  type GeoResult,
  isReservedIp,
  maskBytes,
  parseIp,
} from "../../geo/mod.ts";
import type { ClientNetwork } from "../networks.ts";
import type { PolicyAnswer } from "../policy/chain.ts";
import type { ClientAddress } from "../policy/types.ts";
import type { SteeredName } from "../zone.ts";
import type { Decisions } from "./decisions.ts";

/** What `/api/explain` shows for one client. */
export interface Explanation {
  readonly name: string;
  readonly qtype: "A" | "AAAA";
  readonly client: string;
  readonly geo: GeoResult;
  readonly usedResolverAddress: boolean;
  readonly steps: readonly string[];
  readonly answer: PolicyAnswer | undefined;
  readonly ecsScope: number;
  /**
   * The client's network when the chain reads it: its AS, organisation, carrier and the
   * prefix the ASN data justifies; `null` when no filter reads it or no database is open.
   */
  readonly network: ClientNetwork | null;
  /** The stream key the answer was steered for, or `null`. */
  readonly stream: string | null;
}

/**
 * Explains `steered`'s answer for `who` (`ip`, a resolver or viewer address, or `a.b.c.0/24`
 * as ECS would carry it).
 *
 * @returns The explanation, or why `who` does not parse.
 */
export function explainAnswer(
  decisions: Decisions,
  steered: SteeredName,
  who: string,
  qtype?: "A" | "AAAA",
  stream?: string,
): Explanation | string {
  const [ipText, lenText] = who.split("/");
  const ip = parseIp(ipText ?? "");
  if (!ip) return `'${who}' is not an IP address or subnet`;
  const max = ip.bytes.length * 8;
  const len = lenText === undefined ? max : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > max) {
    return `'${who}' has a bad prefix length`;
  }
  const bytes = maskBytes(ip.bytes, len);
  const usable = len > 0 && !isReservedIp(bytes);
  const client: ClientAddress = { bytes, prefixLength: len };
  const type = qtype ?? (ip.family === 6 ? "AAAA" : "A");
  const steps: string[] = [
    usable
      ? `client ${formatIp(bytes)}/${len}`
      : `client ${
        formatIp(bytes)
      }/${len} is private, reserved or /0: a resolver's own address would be used, ECS scope 0`,
  ];
  const { answer, geo, request } = decisions.decide(
    steered,
    type,
    client,
    steps,
    stream,
  );
  const ecsScope = decisions.scope(
    answer,
    client,
    usable && lenText !== undefined,
  );
  steps.push(
    answer.cname
      ? `answer: CNAME ${answer.cname}, TTL ${answer.ttlSeconds}`
      : `answer: ${answer.addresses.join(", ") || "(no address: NODATA)"} (${
        answer.edgeIds.join(", ")
      }), TTL ${answer.ttlSeconds}` +
        `${answer.failedOver ? " (failed over)" : ""}, ECS scope /${ecsScope}`,
  );
  return {
    name: steered.owner,
    qtype: type,
    client: `${formatIp(bytes)}/${len}`,
    geo,
    usedResolverAddress: !usable,
    steps,
    answer,
    ecsScope,
    network: request.network ?? null,
    stream: request.stream?.key ?? null,
  };
}
