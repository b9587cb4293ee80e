/**
 * What a relay pull carries to its upstream, and how the upstream judges it: the chain of node
 * ids the pull has passed (so a loop is refused at the first node that sees itself in it), its
 * hop count (refused past `origin.relay.maxDepth`), and the cascade's shared secret.
 *
 * On HTTP-FLV pulls and stream-list requests the chain is the query (`relayHops`, `relayVia`)
 * and the secret a request field ({@link RELAY_SECRET_HEADER}), so it never lands in a URL,
 * an access log or a cache key. On RTMP all three travel in the `connect` command object's
 * `meridianRelay` property (§7.2.1.1 lets a client add its own), outside every stream name.
 *
 * Pure: strings in, values out.
 *
 * @module
 */

import { constantTimeEqual } from "../../access/mod.ts";
import type { Amf0Object } from "../../codec/amf0/mod.ts";
import { RelayError, RelayErrorCode } from "./errors.ts";

/** The request field carrying the shared secret on HTTP relay requests. */
export const RELAY_SECRET_HEADER = "X-Meridian-Relay-Secret";
/** Query parameter: how many relay pulls the chain holds, this one included. */
export const RELAY_HOPS_PARAM = "relayHops";
/** Query parameter: the node ids of the chain, comma-separated, first puller first. */
export const RELAY_VIA_PARAM = "relayVia";
/** Longest chain a mark may carry (the largest `origin.relay.maxDepth`). */
export const MAX_RELAY_CHAIN = 64;
/** A node id: what `origin.relay.nodeId` allows. */
export const RELAY_NODE_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** HTTP status of a pull refused as a loop or as too deep (RFC 5842 §7.2 Loop Detected). */
export const LOOP_STATUS = 508;

/** The nodes a pull has passed, first puller first; `hops` is their count. */
export interface RelayChain {
  readonly hops: number;
  readonly via: readonly string[];
}

/** A relay mark as it arrived (query and header, or RTMP connect field), unchecked. */
export interface RawRelayMark {
  readonly hops?: string | undefined;
  readonly via?: string | undefined;
  readonly secret?: string | undefined;
}

/** What a node's relay policy is: its secret, its id, its depth limit. */
export interface RelayPolicy {
  readonly secret: string;
  readonly nodeId: string;
  readonly maxDepth: number;
}

/** How a request that may be a relay pull is taken. */
export type RelayAdmission =
  /** No relay mark: an ordinary viewer (access control applies). */
  | { readonly kind: "viewer" }
  /**
   * A relay pull, within the depth limit and not a loop. `trusted` when this node has a
   * secret and the pull presented it: then the downstream checks its own viewers and this
   * node's access control is skipped; without a secret the pull is a viewer like any other.
   */
  | {
    readonly kind: "relay";
    readonly chain: RelayChain;
    readonly trusted: boolean;
  }
  | { readonly kind: "refused"; readonly error: RelayError };

/**
 * Parses a chain from its two fields.
 *
 * @throws {RelayError} `RELAY_BAD_MARK` when the count is not 1..{@link MAX_RELAY_CHAIN}, an
 *   id is not a node id, or the count is not the number of ids.
 *
 * @example
 * ```ts
 * import { parseRelayChain } from "./wire.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseRelayChain("2", "edge-a,shield"), { hops: 2, via: ["edge-a", "shield"] });
 * ```
 */
export function parseRelayChain(hops: string, via: string): RelayChain {
  const n = /^[0-9]{1,3}$/.test(hops) ? Number(hops) : NaN;
  if (!(n >= 1 && n <= MAX_RELAY_CHAIN)) {
    throw new RelayError(
      RelayErrorCode.BadMark,
      `Cannot read relay mark: hop count must be 1..${MAX_RELAY_CHAIN}, got '${
        hops.slice(0, 16)
      }'`,
    );
  }
  const ids = via.split(",");
  const bad = ids.find((id) => !RELAY_NODE_ID_RE.test(id));
  if (bad !== undefined) {
    throw new RelayError(
      RelayErrorCode.BadMark,
      `Cannot read relay mark: node ids are 1..64 of [A-Za-z0-9_.:-], got '${
        bad.slice(0, 64)
      }'`,
    );
  }
  if (ids.length !== n) {
    throw new RelayError(
      RelayErrorCode.BadMark,
      `Cannot read relay mark: hop count ${n} but ${ids.length} node ids`,
    );
  }
  return { hops: n, via: ids };
}

/** The chain the next pull carries: `chain` (none for a viewer's pull) with this node added. */
export function extendChain(
  chain: RelayChain | undefined,
  nodeId: string,
): RelayChain {
  const via = [...(chain?.via ?? []), nodeId];
  return { hops: via.length, via };
}

/** The chain as HTTP query parameters. */
export function chainParams(chain: RelayChain): Record<string, string> {
  return {
    [RELAY_HOPS_PARAM]: String(chain.hops),
    [RELAY_VIA_PARAM]: chain.via.join(","),
  };
}

/** The chain and secret as the RTMP `connect` field's value. */
export function rtmpRelayField(chain: RelayChain, secret: string): Amf0Object {
  return { hops: chain.hops, via: chain.via.join(","), secret };
}

/**
 * Judges a request that may carry a relay mark: a viewer (no mark), a relay pull (trusted when
 * it presented this node's secret), or refused with the reason.
 *
 * Order: a malformed mark, a wrong secret (before anything about the chain is told), a loop, the
 * depth limit.
 *
 * @example
 * ```ts
 * import { admitRelay } from "./wire.ts";
 * import assert from "node:assert/strict";
 * const policy = { secret: "s".repeat(16), nodeId: "origin-a", maxDepth: 4 };
 * assert.equal(admitRelay(undefined, policy).kind, "viewer");
 * const loop = admitRelay({ hops: "2", via: "origin-a,shield", secret: "s".repeat(16) }, policy);
 * assert.equal(loop.kind === "refused" && loop.error.code, "RELAY_LOOP");
 * ```
 */
export function admitRelay(
  raw: RawRelayMark | undefined,
  policy: RelayPolicy,
): RelayAdmission {
  const hops = raw?.hops ?? "";
  const via = raw?.via ?? "";
  const secret = raw?.secret ?? "";
  if (hops === "" && via === "") {
    // A presented secret without a chain is not a pull; it earns nothing, says nothing.
    return { kind: "viewer" };
  }
  let chain: RelayChain;
  try {
    chain = parseRelayChain(hops, via);
  } catch (e) {
    return { kind: "refused", error: e as RelayError };
  }
  const trusted = policy.secret !== "" &&
    constantTimeEqual(secret, policy.secret);
  if (policy.secret !== "" && !trusted) {
    return {
      kind: "refused",
      error: new RelayError(
        RelayErrorCode.Secret,
        secret === ""
          ? "Relay secret required: this origin takes relay pulls with origin.relay.secret only"
          : "Relay secret wrong: it is not this origin's origin.relay.secret",
      ),
    };
  }
  if (chain.via.includes(policy.nodeId)) {
    return {
      kind: "refused",
      error: new RelayError(
        RelayErrorCode.Loop,
        `Relay loop: the stream already passed this node '${policy.nodeId}' (chain ${
          chain.via.join(" > ")
        })`,
      ),
    };
  }
  if (chain.hops > policy.maxDepth) {
    return {
      kind: "refused",
      error: new RelayError(
        RelayErrorCode.TooDeep,
        `Relay depth limit: the pull has ${chain.hops} hops, this node allows ${policy.maxDepth} (origin.relay.maxDepth)`,
      ),
    };
  }
  return { kind: "relay", chain, trusted };
}

/**
 * Judges a publish that may be another origin's push (`origin.relay.forward`): pushes carry
 * their chain without the secret (a third party's ingest must never see it), so only the loop
 * and the depth limit are checked; the publish's own keys and hooks apply as for any encoder.
 *
 * @example
 * ```ts
 * import { admitPush } from "./wire.ts";
 * const a = admitPush({ hops: "1", via: "primary" }, { secret: "s".repeat(16), nodeId: "primary", maxDepth: 4 });
 * if (a.kind !== "refused" || a.error.code !== "RELAY_LOOP") throw new Error(a.kind);
 * ```
 */
export function admitPush(
  raw: RawRelayMark | undefined,
  policy: RelayPolicy,
): RelayAdmission {
  return admitRelay(
    raw === undefined ? undefined : { ...raw, secret: "" },
    { ...policy, secret: "" },
  );
}

/** The HTTP status a refused relay request is answered with. */
export function refusalStatus(error: RelayError): 400 | 403 | 508 {
  switch (error.code) {
    case RelayErrorCode.Loop:
    case RelayErrorCode.TooDeep:
      return LOOP_STATUS;
    case RelayErrorCode.Secret:
      return 403;
    default:
      return 400;
  }
}

/**
 * The error a downstream makes of an upstream's refusal text (an RTMP onStatus description or
 * an HTTP body): the upstream's own reason, its code recovered from the reason's words (a
 * refusal from further up arrives wrapped in each node's phrase).
 */
export function refusalFromText(
  text: string,
  upstream: string,
  what: string,
): RelayError {
  const reason = text.replace(/\s+/g, " ").trim().slice(0, 300);
  // Anywhere in the text: a refusal further up comes wrapped in each node's phrase.
  const code = /\bRelay loop:/.test(reason)
    ? RelayErrorCode.Loop
    : /\bRelay depth limit:/.test(reason)
    ? RelayErrorCode.TooDeep
    : /\bRelay secret (required|wrong):/.test(reason)
    ? RelayErrorCode.Secret
    : RelayErrorCode.Refused;
  return new RelayError(
    code,
    `Cannot pull ${what} from ${upstream}: refused: ${reason || "no reason"}`,
    upstream,
  );
}
