/**
 * Shared fixtures of the scheduler tests: a config with edges in Frankfurt, Virginia and
 * Singapore, a static geo table for a few well-known networks (as DB-IP places them), and
 * health that is set by hand.
 *
 * @module
 */

import {
  SCHEDULER_DEFAULTS,
  type SchedulerConfig,
} from "../../config/scheduler_schema.ts";
import { createStaticGeoLookup, type GeoLookup } from "../../geo/mod.ts";
import type { HealthSnapshot } from "../../scheduler/health/monitor.ts";

/** Edges on three continents. */
export const EDGES: SchedulerConfig["edges"] = [
  {
    id: "fra1",
    address: "192.0.2.1",
    address6: "2001:db8::1",
    region: "eu-central",
    latitude: 50.11,
    longitude: 8.68,
    capacity: 100,
    healthUrl: "",
    isp: [],
    asns: [],
  },
  {
    id: "iad1",
    address: "192.0.2.2",
    address6: "",
    region: "us-east",
    latitude: 38.95,
    longitude: -77.45,
    capacity: 100,
    healthUrl: "",
    isp: [],
    asns: [],
  },
  {
    id: "sin1",
    address: "192.0.2.3",
    address6: "2001:db8::3",
    region: "ap-southeast",
    latitude: 1.35,
    longitude: 103.82,
    capacity: 100,
    healthUrl: "",
    isp: [],
    asns: [],
  },
];

/** A scheduler config for tests: ephemeral ports, the three edges, a few static records. */
export function testConfig(
  patch: Partial<SchedulerConfig> = {},
): SchedulerConfig {
  const zone = SCHEDULER_DEFAULTS.zones[0]!;
  return {
    ...SCHEDULER_DEFAULTS,
    dnsPort: 0,
    httpPort: 0,
    dns: {
      ...SCHEDULER_DEFAULTS.dns,
      chaos: { version: "Meridian test", id: "sched-1" },
      rateLimit: { ...SCHEDULER_DEFAULTS.dns.rateLimit, responsesPerSecond: 0 },
    },
    health: {
      ...SCHEDULER_DEFAULTS.health,
      intervalMs: 100,
      timeoutMs: 300,
      rise: 2,
      fall: 2,
    },
    edges: EDGES,
    zones: [{
      ...zone,
      records: [
        ...zone.records,
        { name: "www", type: "CNAME", ttl: 300, value: "live" },
        { name: "@", type: "TXT", ttl: 300, value: '"v=meridian1"' },
        { name: "@", type: "MX", ttl: 300, value: "10 mail.meridian.test." },
        {
          name: "@",
          type: "CAA",
          ttl: 300,
          value: '0 issue "letsencrypt.org"',
        },
        { name: "mail", type: "A", ttl: 300, value: "192.0.2.25" },
        { name: "a.b.deep", type: "A", ttl: 300, value: "192.0.2.26" },
        ...Array.from(
          { length: 12 },
          (_, i) => ({
            name: "big",
            type: "TXT",
            ttl: 300,
            value: `${i}`.padEnd(100, "x"),
          }),
        ),
      ],
      steered: [
        { name: "live", ttlSeconds: 30, failoverTtlSeconds: 10, filters: [] },
        {
          name: "*.cdn",
          ttlSeconds: 20,
          failoverTtlSeconds: 5,
          filters: [{ name: "geo_sort" }, { name: "health" }, {
            name: "first_n",
            count: 1,
          }],
        },
      ],
    }],
    ...patch,
  };
}

/** Networks as DB-IP places them (checked against the real database in tests/geo/mmdb_test.ts). */
export const GEO = createStaticGeoLookup([
  {
    cidr: "81.2.69.0/24",
    record: {
      continent: "EU",
      country: "GB",
      city: "London",
      latitude: 51.51,
      longitude: -0.09,
    },
  },
  {
    cidr: "8.8.8.0/24",
    record: {
      continent: "NA",
      country: "US",
      city: "Mountain View",
      latitude: 37.42,
      longitude: -122.08,
    },
  },
  {
    cidr: "1.1.1.0/24",
    record: {
      continent: "OC",
      country: "AU",
      city: "Sydney",
      latitude: -33.87,
      longitude: 151.21,
    },
  },
  {
    cidr: "122.11.0.0/19",
    record: {
      continent: "AS",
      country: "CN",
      city: "Beijing",
      latitude: 39.97,
      longitude: 116.43,
    },
  },
  {
    cidr: "200.1.0.0/22",
    record: {
      continent: "SA",
      country: "VE",
      city: "Caracas",
      latitude: 10.5,
      longitude: -66.85,
    },
  },
  {
    cidr: "2a00:1450::/32",
    record: {
      continent: "EU",
      country: "IE",
      city: "Dublin",
      latitude: 53.34,
      longitude: -6.26,
    },
  },
]) satisfies GeoLookup;

/** Health set by hand. */
export class ManualHealth implements HealthSnapshot {
  version = 1;
  readonly #down = new Set<string>();
  isUp(id: string): boolean {
    return !this.#down.has(id);
  }
  state() {
    return undefined;
  }
  set(id: string, up: boolean): void {
    if (up) this.#down.delete(id);
    else this.#down.add(id);
    this.version++;
  }
}
