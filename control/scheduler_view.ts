/**
 * `GET /admin/scheduler` (relative: `/scheduler`): the scheduler's routing dashboard linked and
 * its key figures (edges up, routed answers, DNS rate, the busiest routes), read from the
 * scheduler's own `/api/dashboard` (found through the store's node directory). 404 with
 * `{"available": false}` when no scheduler announces itself.
 *
 * @module
 */

import { Hono } from "hono";
import { NO_STORE } from "../net/http/respond.ts";
import type { SharedStore } from "../store/mod.ts";
import type { ControlEnv } from "./console_auth.ts";

/** A dashboard read gives up after this long (ms). */
export const SCHEDULER_TIMEOUT_MS = 5_000;
/** Routes shown at most. */
const TOP_ROUTES = 5;

/** The figures the console embeds. */
export interface SchedulerFigures {
  readonly url: string;
  readonly dashboardUrl: string;
  readonly edges: number;
  readonly edgesUp: number;
  /** Routed answers per second over the scheduler's window. */
  readonly routedPerSecond: number;
  /** The last DNS rate sample (queries per second), when the scheduler keeps one. */
  readonly dnsQps: number | null;
  readonly routes: readonly {
    readonly label: string;
    readonly share: number;
  }[];
}

type Dashboard = {
  edges?: { state?: string }[];
  routing?: {
    windowSeconds?: number;
    queries?: number;
    routes?: { region?: string; edgeId?: string; share?: number }[];
  };
  dns?: { rateHistory?: number[] };
};

/** Picks the figures out of a `/api/dashboard` answer (tolerant of missing parts). */
export function schedulerFigures(url: string, d: Dashboard): SchedulerFigures {
  const edges = Array.isArray(d.edges) ? d.edges : [];
  const routing = d.routing ?? {};
  const queries = routing.queries ?? 0;
  const window = Math.max(1, routing.windowSeconds ?? 1);
  const rates = d.dns?.rateHistory ?? [];
  return {
    url,
    dashboardUrl: `${url}/dashboard`,
    edges: edges.length,
    edgesUp: edges.filter((e) => e.state === "up").length,
    routedPerSecond: Number((queries / window).toFixed(2)),
    dnsQps: rates.length ? rates[rates.length - 1]! : null,
    routes: (routing.routes ?? []).slice(0, TOP_ROUTES).map((r) => ({
      label: `${r.region ?? "?"} → ${r.edgeId ?? "?"}`,
      share: r.share ?? 0,
    })),
  };
}

/** The route group. */
export function createSchedulerViewRoutes(
  deps: { readonly store: SharedStore; readonly clock: () => number },
): Hono<ControlEnv> {
  const app = new Hono<ControlEnv>();
  const json = (body: unknown, status: number) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { ...NO_STORE, "Content-Type": "application/json" },
    });
  app.get("/scheduler", async () => {
    const nodes = await deps.store.nodes.list(deps.clock());
    const url = nodes.map((n) => n.endpoints["scheduler.http"]).find(Boolean);
    if (!url) {
      return json(
        { error: "No scheduler announces itself", available: false },
        404,
      );
    }
    try {
      const res = await fetch(`${url}/api/dashboard`, {
        signal: AbortSignal.timeout(SCHEDULER_TIMEOUT_MS),
      });
      if (!res.ok) {
        await res.body?.cancel();
        return json(
          { error: `The scheduler answered ${res.status}`, url },
          502,
        );
      }
      return json({
        available: true,
        ...schedulerFigures(url, await res.json()),
      }, 200);
    } catch (e) {
      return json({
        error: `Cannot reach the scheduler: ${
          e instanceof Error ? e.message : e
        }`,
        url,
      }, 502);
    }
  });
  return app;
}
