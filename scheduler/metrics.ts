/**
 * The scheduler's series, read at scrape time from {@link DnsStats} (which DNS worker threads
 * add to) and the health monitor: queries by transport, question type and response code,
 * answer latency, ECS use and scope, RRL, answers per edge, edge health and flaps.
 *
 * The 302 scheduler counts its redirects itself (`http/app.ts`).
 *
 * @module
 */

import type { MetricsRegistry } from "../metrics/mod.ts";
import type { EdgeSource } from "./edges.ts";
import type { HealthMonitor, HealthSnapshot } from "./health/monitor.ts";
import {
  DNS_LATENCY_BUCKETS_SECONDS,
  DNS_LATENCY_SAMPLE_EVERY,
  type DnsStats,
  ECS_SCOPE_BUCKETS,
} from "./stats.ts";

/** What the scheduler's series read. */
export interface SchedulerMetricsSources {
  readonly stats: DnsStats;
  readonly edges: EdgeSource;
  /** The verdicts answers follow (with a shared registry, every scheduler's combined). */
  readonly health: HealthSnapshot;
  /** This scheduler's own checks (flaps). */
  readonly monitor: HealthMonitor;
}

/**
 * Registers the scheduler's series.
 *
 * Families: `meridian_dns_queries_total{transport,qtype,rcode}`,
 * `meridian_dns_answer_duration_seconds` (histogram, sampled),
 * `meridian_dns_ecs_queries_total`, `meridian_dns_ecs_scope_prefix_length` (histogram),
 * `meridian_dns_rrl_total{action}`, `meridian_dns_answers_total{edge}`,
 * `meridian_scheduler_edge_up{edge}`, `meridian_scheduler_edge_health_state{edge,state}`,
 * `meridian_scheduler_edge_flaps_total{edge}`.
 */
export function registerSchedulerMetrics(
  metrics: MetricsRegistry,
  { stats, edges, health, monitor }: SchedulerMetricsSources,
): void {
  metrics.collect(
    "meridian_dns_queries_total",
    "DNS queries answered, by transport, question type (others as 'other') and response code",
    "counter",
    function* () {
      for (const [transport, qtype, rcode, n] of stats.queryRows()) {
        yield [{ transport, qtype, rcode }, n];
      }
    },
  );
  metrics.collectHistogram(
    "meridian_dns_answer_duration_seconds",
    `Time to answer a DNS query in the server (parse, decide, encode), sampled: one query in ${DNS_LATENCY_SAMPLE_EVERY}`,
    () => {
      const cumulativeCounts: number[] = [];
      let acc = 0;
      for (let i = 0; i < DNS_LATENCY_BUCKETS_SECONDS.length; i++) {
        cumulativeCounts.push(acc += stats.latencyCounts[i]!);
      }
      acc += stats.latencyCounts[DNS_LATENCY_BUCKETS_SECONDS.length]!;
      return [[undefined, {
        buckets: DNS_LATENCY_BUCKETS_SECONDS,
        cumulativeCounts,
        count: acc,
        sum: stats.latencySum,
      }]];
    },
  );
  metrics.collect(
    "meridian_dns_ecs_queries_total",
    "DNS queries carrying EDNS Client Subnet (the ECS share: this over meridian_dns_queries_total)",
    "counter",
    () => [[undefined, stats.ecsQueries]],
  );
  metrics.collectHistogram(
    "meridian_dns_ecs_scope_prefix_length",
    "ECS scope prefix length echoed to queries with ECS (RFC 7871 §7.2.1: how widely the answer may be cached)",
    () => {
      const h = stats.scopeHistogram;
      let sum = 0;
      let count = 0;
      for (let i = 0; i < h.length; i++) {
        count += h[i]!;
        sum += i * h[i]!;
      }
      const cumulativeCounts = ECS_SCOPE_BUCKETS.map((le) => {
        let n = 0;
        for (let i = 0; i <= le && i < h.length; i++) n += h[i]!;
        return n;
      });
      return [[undefined, {
        buckets: ECS_SCOPE_BUCKETS,
        cumulativeCounts,
        count,
        sum,
      }]];
    },
  );
  metrics.collect(
    "meridian_dns_rrl_total",
    "Responses limited by response rate limiting, by action (drop, slip: a truncated answer asking for TCP)",
    "counter",
    () => [
      [{ action: "drop" }, stats.rrlDropped],
      [{ action: "slip" }, stats.rrlSlipped],
    ],
  );
  metrics.collect(
    "meridian_dns_answers_total",
    "Steered DNS answers by the edge they name first",
    "counter",
    () => [...stats.byEdge].map(([edge, c]) => [{ edge }, c.count]),
  );
  metrics.collect(
    "meridian_scheduler_edge_up",
    "Edge health as answers follow it (1 up, 0 down)",
    "gauge",
    () =>
      edges.list().map((s) => [
        { edge: s.edge.id },
        health.isUp(s.edge.id) ? 1 : 0,
      ]),
  );
  metrics.collect(
    "meridian_scheduler_edge_health_state",
    "Each edge's state (1 for the one it is in): up, down, or draining (up but taken out of answers)",
    "gauge",
    () =>
      edges.list().flatMap((s) => {
        const up = health.isUp(s.edge.id);
        const state = s.draining ? "draining" : up ? "up" : "down";
        return (["up", "down", "draining"] as const).map((
          st,
        ): [Record<string, string>, number] => [
          { edge: s.edge.id, state: st },
          st === state ? 1 : 0,
        ]);
      }),
  );
  metrics.collect(
    "meridian_scheduler_edge_flaps_total",
    "Times this scheduler's checks took an edge down or brought it back up",
    "counter",
    () =>
      edges.list().map((s) => [{ edge: s.edge.id }, monitor.flaps(s.edge.id)]),
  );
}
