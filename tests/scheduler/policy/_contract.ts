/**
 * The policy contract every filter chain must keep (STYLE B8): answers only known addresses,
 * at most the declared count, deterministic for the same client and health, scope within the
 * address length.
 */
import assert from "node:assert/strict";
import { runChain } from "../../../scheduler/policy/chain.ts";
import type {
  EdgeView,
  Filter,
  PolicyRequest,
} from "../../../scheduler/policy/types.ts";
import { GEO } from "../_fixtures.ts";
import { parseIp } from "../../../geo/mod.ts";
import { EDGES } from "../_fixtures.ts";

export const VIEWS: EdgeView[] = EDGES.map((e) => ({
  edge: { ...e, healthTarget: "" },
  up: true,
  draining: false,
  load: 0,
}));

export function request(subnet: string): PolicyRequest {
  const [ip, len] = subnet.split("/");
  const bytes = parseIp(ip!)!.bytes;
  return {
    qname: "live.meridian.test",
    qtype: "A",
    client: { bytes, prefixLength: Number(len ?? bytes.length * 8) },
    geo: GEO.lookup(bytes),
  };
}

export function runPolicyContract(
  name: string,
  filters: Filter[],
  maxCount = 3,
): void {
  Deno.test(`${name}: keeps the policy contract`, () => {
    const known = new Set(VIEWS.map((v) => v.edge.address));
    for (
      const subnet of [
        "81.2.69.0/24",
        "8.8.8.0/24",
        "1.1.1.0/24",
        "200.1.0.0/22",
        "203.0.113.0/24",
        "9.9.9.0/24",
      ]
    ) {
      // Plain, and with what network- and stream-reading filters read.
      const rich: PolicyRequest = {
        ...request(subnet),
        network: {
          asn: 4837,
          org: "CHINA UNICOM China169 Backbone",
          carrier: "unicom",
          prefixLength: 16,
        },
        stream: {
          key: "c3339c2f366e3c47",
          holders: new Map([["iad1", 3], ["sin1", 900]]),
        },
      };
      for (const req of [request(subnet), rich]) {
        const ttl = { ttlSeconds: 30, failoverTtlSeconds: 10 };
        const a = runChain(req, filters, VIEWS, ttl);
        const b = runChain(req, filters, VIEWS, ttl);
        assert.deepEqual(a, b, "deterministic");
        assert.ok(
          a.addresses.every((x) => known.has(x)),
          "only known addresses",
        );
        assert.ok(a.addresses.length <= maxCount);
        assert.ok(a.scopePrefix >= 0 && a.scopePrefix <= 32);
      }
    }
  });
}
