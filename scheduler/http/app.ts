/**
 * The scheduler's HTTP side (Hono): the 302 scheduler for media URLs, `/api/explain`, the
 * routing dashboard and its JSON, `/healthz`, `/metrics`, and the admin drain endpoints
 * (`POST`/`DELETE /api/edges/{id}/drain`, bearer `scheduler.adminToken`).
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { SchedulerConfig } from "../../config/scheduler_schema.ts";
import {
  ASN_ATTRIBUTION_HTML,
  DBIP_ATTRIBUTION_HTML,
  parseIp,
} from "../../geo/mod.ts";
import { streamKeyOfPath } from "../../store/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import type { EdgeSource } from "../edges.ts";
import type { DnsHandler } from "../answer/handler.ts";
import type { HealthSnapshot } from "../health/monitor.ts";
import type { DnsStats } from "../stats.ts";
import { createAdminGate } from "../../net/mod.ts";
import { type Logger, silentLogger } from "../../log/mod.ts";
import { DASHBOARD_HTML } from "./dashboard.ts";
import { buildDashboard } from "./dashboard_data.ts";

/** Dependencies of {@link createSchedulerApp}. */
export interface SchedulerAppDeps {
  readonly handler: DnsHandler;
  readonly edges: EdgeSource;
  readonly health: HealthSnapshot;
  readonly stats: DnsStats;
  readonly metrics: MetricsRegistry;
  readonly redirect: SchedulerConfig["redirect"];
  /** Bearer token of the admin endpoints; "" or absent disables them (403). */
  readonly adminToken?: string;
  /** For the admin gate's lockout warnings. @default silent */
  readonly log?: Logger;
  /** Unix ms for the dashboard's timelines. @default Date.now */
  readonly now?: () => number;
}

/** A media path: `/{app}/{stream}.flv`, `.m3u8`, segments, VOD files. */
const MEDIA_PATH = /^\/[^/]+\/.+\.(flv|m3u8|ts|m4s|mp4|aac|mp3|key)$/i;

/**
 * Creates the app. The client address comes from the connection (`c.env.remoteAddr`, as
 * `Deno.serve` hands it to `app.fetch(req, info)`).
 */
export function createSchedulerApp(deps: SchedulerAppDeps): Hono {
  const app = new Hono();
  const redirects = deps.metrics.counter(
    "meridian_scheduler_redirects_total",
    "302s of the HTTP scheduler, by the edge sent to (none: no edge available, 503)",
    { labelNames: ["edge"] },
  );
  const clientIp = (env: unknown): string => {
    const info = env as { remoteAddr?: { hostname?: string } } | undefined;
    return info?.remoteAddr?.hostname ?? "";
  };

  app.get("/healthz", (c) => c.text("ok\n"));
  app.get(
    "/metrics",
    (c) =>
      c.text(deps.metrics.render(), 200, {
        "content-type": "text/plain; version=0.0.4",
      }),
  );
  app.get("/", (c) => c.redirect("/dashboard"));
  app.get("/dashboard", (c) => c.html(DASHBOARD_HTML));
  app.get("/api/dashboard", (c) => {
    c.header("cache-control", "no-store");
    return c.json(buildDashboard({
      edges: deps.edges,
      health: deps.health,
      stats: deps.stats,
      routing: deps.handler.routing,
      cachedTemplates: deps.handler.cachedTemplates,
      ...(deps.now ? { now: deps.now } : {}),
    }));
  });
  app.get("/api/explain", (c) => {
    const who = c.req.query("subnet") ?? c.req.query("ip") ?? clientIp(c.env);
    const qtypeText = c.req.query("qtype")?.toUpperCase();
    const qtype = qtypeText === "AAAA"
      ? "AAAA"
      : qtypeText === "A"
      ? "A"
      : undefined;
    // `stream=app/name` (or a media path) explains the answer for a viewer of that stream.
    const streamText = c.req.query("stream");
    const stream = streamText
      ? streamKeyOfPath(
        streamText.startsWith("/") ? streamText : `/${streamText}`,
      )
      : undefined;
    const r = deps.handler.explain(
      c.req.query("name") ?? "",
      who,
      qtype,
      stream,
    );
    if (typeof r === "string") return c.json({ error: r }, 400);
    return c.json({
      ...r,
      attribution: r.network
        ? `${DBIP_ATTRIBUTION_HTML}; ${ASN_ATTRIBUTION_HTML}`
        : DBIP_ATTRIBUTION_HTML,
    });
  });
  const admin = createAdminGate(deps.adminToken ?? "", {
    log: deps.log ?? silentLogger,
  });
  const drain = (draining: boolean) => async (c: Context) => {
    const id = c.req.param("id") ?? "";
    const set = deps.edges.setDraining;
    if (!set) {
      return c.json({ error: "This edge source has no drain flag" }, 501);
    }
    if (!(await set.call(deps.edges, id, draining))) {
      return c.json({ error: `Unknown edge: ${JSON.stringify(id)}` }, 404);
    }
    return c.json({ id, draining });
  };
  app.post("/api/edges/:id/drain", admin, drain(true));
  app.delete("/api/edges/:id/drain", admin, drain(false));

  app.get("*", (c) => {
    const url = new URL(c.req.url);
    if (!MEDIA_PATH.test(url.pathname)) return c.text("Not found\n", 404);
    const ip = parseIp(clientIp(c.env));
    const steered = deps.handler.defaultSteered();
    if (!ip || !steered) return c.text("No edge available\n", 503);
    const qtype = ip.family === 6 ? "AAAA" : "A";
    // The stream in the URL: stream_affinity sends its viewers where it is already pulled.
    const stream = streamKeyOfPath(url.pathname);
    let { answer, geo } = deps.handler.decide(
      steered,
      qtype,
      {
        bytes: ip.bytes,
        prefixLength: ip.bytes.length * 8,
      },
      undefined,
      stream,
    );
    if (!answer.edgeIds.length && qtype === "AAAA") {
      ({ answer, geo } = deps.handler.decide(
        steered,
        "A",
        {
          bytes: ip.bytes,
          prefixLength: 128,
        },
        undefined,
        stream,
      ));
    }
    const id = answer.edgeIds[0];
    const edge = deps.edges.list().find((s) => s.edge.id === id)?.edge;
    if (!edge) {
      redirects.labels("none").inc();
      return c.text("No edge available\n", 503);
    }
    redirects.labels(edge.id).inc();
    // Redirects are routing too: the dashboard counts them with the DNS answers.
    deps.handler.routing.route(
      geo,
      edge.id,
      answer.carrier === undefined
        ? undefined
        : { name: answer.carrier, onNet: answer.onNet === true },
    ).queries++;
    const host = edge.address || `[${edge.address6}]`;
    const location =
      `${deps.redirect.scheme}://${host}:${deps.redirect.port}${url.pathname}${url.search}`;
    c.header("cache-control", "no-store");
    c.header("x-meridian-edge", edge.id);
    return c.redirect(location, 302);
  });
  return app;
}
