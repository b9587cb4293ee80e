/**
 * DNS answer cost: `handleQuery` on hot cached answers (hand parse + template patch) against a
 * dns-packet decode + encode of the same answer (what CEILINGS.md measured at ~187k/s with ECS).
 *
 * Run: `deno bench -A bench/dns_handle_bench.ts`
 */
import { ConfigEdgeSource } from "../scheduler/edges.ts";
import { DnsHandler } from "../scheduler/answer/handler.ts";
import {
  decodePacket,
  encodeEcsQuery,
  encodePacket,
} from "../scheduler/dns/packet.ts";
import { parseQuery } from "../scheduler/dns/query.ts";
import { Authority } from "../scheduler/zone.ts";
import { parseIp } from "../geo/mod.ts";
import { GEO, ManualHealth, testConfig } from "../tests/scheduler/_fixtures.ts";

const config = testConfig();
const handler = new DnsHandler({
  authority: Authority.fromConfig(config),
  geo: GEO,
  edges: new ConfigEdgeSource(config),
  health: new ManualHealth(),
  config,
});
const client = {
  address: parseIp("127.0.0.1")!.bytes,
  transport: "udp" as const,
};
const steeredEcs = encodeEcsQuery(
  "live.meridian.test",
  "A",
  "81.2.69.0/24",
  99,
);
const staticQ = encodePacket({
  type: "query",
  id: 99,
  flags: 1 << 8,
  questions: [{ name: "mail.meridian.test", type: "A", class: "IN" }],
  additionals: [{
    type: "OPT",
    name: ".",
    udpPayloadSize: 1232,
    flags: 0,
    options: [],
  }],
});
handler.handleQuery(steeredEcs, client);
handler.handleQuery(staticQ, client);

Deno.bench({
  name: "handleQuery: steered name, ECS /24 (cached decision + template)",
  group: "answer",
  baseline: true,
  fn: () => {
    handler.handleQuery(steeredEcs, client);
  },
});
Deno.bench({
  name: "handleQuery: static A, no ECS",
  group: "answer",
  fn: () => {
    handler.handleQuery(staticQ, client);
  },
});
Deno.bench({
  name: "parseQuery only (ECS)",
  group: "answer",
  fn: () => {
    parseQuery(steeredEcs);
  },
});
Deno.bench({
  name: "dns-packet decode + encode, same answer with ECS",
  group: "answer",
  fn: () => {
    const q = decodePacket(steeredEcs);
    encodePacket({
      type: "response",
      id: q.id,
      flags: 1 << 10,
      questions: q.questions,
      answers: [{
        type: "A",
        name: "live.meridian.test",
        ttl: 30,
        data: "192.0.2.1",
      }, { type: "A", name: "live.meridian.test", ttl: 30, data: "192.0.2.2" }],
      additionals: [{
        type: "OPT",
        name: ".",
        udpPayloadSize: 1232,
        flags: 0,
        options: [{
          code: 8,
          family: 1,
          sourcePrefixLength: 24,
          scopePrefixLength: 24,
          ip: "81.2.69.0",
        }],
      }],
    });
  },
});
