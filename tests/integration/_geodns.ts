/**
 * Starts the real scheduler for the GeoDNS integration tests: ephemeral ports, the fixture
 * edges (all healthy: the probe always succeeds), the fixture geo table.
 *
 * @module
 */

import type { SchedulerConfig } from "../../config/scheduler_schema.ts";
import {
  type SchedulerDeps,
  type SchedulerHandle,
  startScheduler,
} from "../../scheduler/mod.ts";
import { GEO, testConfig } from "../scheduler/_fixtures.ts";

/** Runs `fn` against a started scheduler and closes it afterwards. */
export async function withGeoDns(
  patch: Partial<SchedulerConfig>,
  fn: (s: SchedulerHandle) => Promise<void>,
  deps: SchedulerDeps = {},
): Promise<void> {
  const s = await startScheduler(testConfig(patch), {
    geo: GEO,
    probe: () => Promise.resolve(),
    ...deps,
  });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}
