/**
 * The pulled cameras of an origin: those of `origin.rtsp.sources` and those added through
 * the admin API (same bearer token as `/admin/channels`, `origin.adminToken`):
 *
 * - `GET /admin/sources` — every source with its state (`connecting`, `live`, `retrying`),
 *   last error and failures;
 * - `POST /admin/sources` `{"name":"app/stream","url":"rtsp://…","transport"?,"user"?,"password"?}`
 *   → 201 with its status; 400 naming the bad field; 409 when the name is taken;
 * - `GET|DELETE /admin/sources/{app}/{stream}` — one source; DELETE stops it and ends its
 *   stream (204; 404 for an unknown one).
 *
 * Sources added through the API last until the process restarts (config is not rewritten).
 * `/metrics` shows `meridian_origin_rtsp_source_up{source}` and
 * `meridian_origin_rtsp_source_failures_total{source}`.
 *
 * @module
 */

import { Hono } from "hono";
import {
  ORIGIN_CONSTRAINTS,
  type OriginRtspConfig,
  type RtspSourceConfig,
} from "../../config/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import { createAdminGate, NO_STORE, readJsonBody } from "../../net/mod.ts";
import type { IngestContext } from "../ingest/mod.ts";
import { RtspSource, type RtspSourceStatus } from "./source.ts";

/** Most sources one origin pulls (each holds a connection and a stream slot). */
export const MAX_SOURCES = 1000;

/** The sources of one origin. */
export class RtspSources {
  readonly #ctx: IngestContext;
  readonly #retry: { minMs: number; maxMs: number };
  readonly #sources = new Map<string, RtspSource>();
  /** Failures counted per source name, kept after a source is removed (a counter). */
  readonly #failures = new Map<string, number>();

  constructor(config: OriginRtspConfig, ctx: IngestContext) {
    this.#ctx = ctx;
    this.#retry = {
      minMs: config.retryMinMs,
      maxMs: Math.max(config.retryMinMs, config.retryMaxMs),
    };
    for (const s of config.sources) this.add(s);
  }

  /** Starts pulling; false when the name is taken. */
  add(config: RtspSourceConfig): boolean {
    if (this.#sources.has(config.name)) return false;
    const s = new RtspSource(config, this.#ctx, this.#retry);
    this.#sources.set(config.name, s);
    let before = 0;
    s.onChange = () => {
      const f = s.status.failures;
      if (f > before) {
        this.#failures.set(
          config.name,
          (this.#failures.get(config.name) ?? 0) + f - before,
        );
      }
      before = f;
    };
    return true;
  }

  get(name: string): RtspSourceStatus | undefined {
    return this.#sources.get(name)?.status;
  }

  list(): RtspSourceStatus[] {
    return [...this.#sources.values()].map((s) => s.status);
  }

  get size(): number {
    return this.#sources.size;
  }

  /** Stops one source; false when unknown. */
  async remove(name: string): Promise<boolean> {
    const s = this.#sources.get(name);
    if (!s) return false;
    this.#sources.delete(name);
    await s.stop();
    return true;
  }

  /** Registers the two metric families. */
  registerMetrics(metrics: MetricsRegistry): void {
    metrics.collect(
      "meridian_origin_rtsp_source_up",
      "1 when a pulled RTSP source carries media, 0 while it connects or waits to retry",
      "gauge",
      () =>
        this.list().map((
          s,
        ) => [{ source: s.name }, s.state === "live" ? 1 : 0]),
    );
    metrics.collect(
      "meridian_origin_rtsp_source_failures_total",
      "Failed attempts to pull an RTSP source (refused, unreachable, no media, ended)",
      "counter",
      () => [...this.#failures].map(([name, n]) => [{ source: name }, n]),
    );
  }

  async close(): Promise<void> {
    const all = [...this.#sources.values()];
    this.#sources.clear();
    await Promise.all(all.map((s) => s.stop()));
  }
}

/** Checks one field of a POSTed source with the config's constraint of that key. */
function fieldProblem(key: string, value: unknown): string | undefined {
  const c = ORIGIN_CONSTRAINTS[`origin.rtsp.sources[].${key}`];
  return c ? c(value) : undefined;
}

/** The admin routes (absolute paths: mount with `app.route("/", …)`). */
export function createSourceAdminRoutes(
  sources: RtspSources,
  deps: { readonly adminToken: string; readonly log: IngestContext["log"] },
): Hono {
  const app = new Hono();
  const gate = createAdminGate(deps.adminToken, { log: deps.log });
  const headers: Record<string, string> = { ...NO_STORE };
  app.get(
    "/admin/sources",
    gate,
    (c) => c.json({ sources: sources.list() }, 200, headers),
  );
  app.get("/admin/sources/:app/:stream", gate, (c) => {
    const name = `${c.req.param("app")}/${c.req.param("stream")}`;
    const s = sources.get(name);
    return s
      ? c.json(s, 200, headers)
      : c.json({ error: `No source ${name}` }, 404, headers);
  });
  app.delete("/admin/sources/:app/:stream", gate, async (c) => {
    const name = `${c.req.param("app")}/${c.req.param("stream")}`;
    if (!(await sources.remove(name))) {
      return c.json({ error: `No source ${name}` }, 404, headers);
    }
    deps.log.info("source removed", { source: name });
    return c.body(null, 204, headers);
  });
  app.post("/admin/sources", gate, async (c) => {
    const body = await readJsonBody(c);
    if (!body.ok) return body.response;
    const v = body.value as Record<string, unknown> | null;
    if (!v || typeof v !== "object" || Array.isArray(v)) {
      return c.json(
        {
          error:
            "Expected a JSON object {name, url, transport?, user?, password?}",
        },
        400,
        headers,
      );
    }
    const config: Record<string, unknown> = {
      transport: "tcp",
      user: "",
      password: "",
      ...v,
    };
    for (const key of ["name", "url", "transport", "user", "password"]) {
      const value = config[key];
      const problem = typeof value !== "string"
        ? "a string"
        : fieldProblem(key, value);
      if (problem) {
        return c.json(
          { error: `Invalid '${key}': expected ${problem}`, field: key },
          400,
          headers,
        );
      }
    }
    const unknown = Object.keys(v).find((k) =>
      !["name", "url", "transport", "user", "password"].includes(k)
    );
    if (unknown) {
      return c.json(
        { error: `Unknown field '${unknown}'`, field: unknown },
        400,
        headers,
      );
    }
    if (sources.size >= MAX_SOURCES) {
      return c.json({ error: `At most ${MAX_SOURCES} sources` }, 409, headers);
    }
    const source = config as unknown as RtspSourceConfig;
    if (!sources.add(source)) {
      return c.json(
        { error: `Source ${source.name} exists`, field: "name" },
        409,
        headers,
      );
    }
    deps.log.info("source added", { source: source.name });
    return c.json(sources.get(source.name), 201, headers);
  });
  return app;
}
