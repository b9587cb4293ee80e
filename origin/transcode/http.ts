/**
 * The VOD transcode jobs' admin API on the origin's HTTP port, behind the origin's admin token
 * (`origin.adminToken`; the one admin gate of Meridian: constant-time comparison, lockout):
 *
 * - `POST /admin/transcode` `{"path", "profiles"?, "format"?, "output"?}`: queues a job (202).
 * - `GET /admin/jobs`: every job, newest first; `GET /admin/jobs/{id}`: one, with progress.
 * - `DELETE /admin/jobs/{id}`: cancels a queued or running job.
 *
 * Errors are `{"error", "code"}` with the status of their {@link TranscodeError}.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { createAdminGate } from "../../net/mod.ts";
import type { Logger } from "../log.ts";
import { TranscodeError, TranscodeErrorCode } from "./errors.ts";
import type { TranscodeJobs } from "./jobs.ts";

/** Largest request body read (bytes): a job request is a few hundred. */
export const MAX_JOB_BODY_BYTES = 64 * 1024;

const NO_STORE = { "Cache-Control": "no-store" };

async function readJson(c: Context): Promise<unknown> {
  const length = Number(c.req.header("Content-Length") ?? "0");
  if (length > MAX_JOB_BODY_BYTES) {
    throw new TranscodeError(
      TranscodeErrorCode.BadRequest,
      `Cannot read request body: ${length} bytes, over ${MAX_JOB_BODY_BYTES}`,
    );
  }
  const text = await c.req.text();
  if (text.length > MAX_JOB_BODY_BYTES) {
    throw new TranscodeError(
      TranscodeErrorCode.BadRequest,
      `Cannot read request body: over ${MAX_JOB_BODY_BYTES} bytes`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new TranscodeError(
      TranscodeErrorCode.BadRequest,
      "Cannot parse request body: not JSON",
    );
  }
}

/** The routes, as a Hono app to mount on the origin's. */
export function createJobRoutes(
  jobs: TranscodeJobs,
  options: { readonly adminToken: string; readonly log: Logger },
): Hono {
  const app = new Hono();
  const gate = createAdminGate(options.adminToken, { log: options.log });
  app.use("/admin/transcode", gate);
  app.use("/admin/jobs", gate);
  app.use("/admin/jobs/*", gate);
  const fail = (c: Context, e: unknown) => {
    if (!(e instanceof TranscodeError)) throw e;
    return c.json(
      { error: e.message, code: e.code },
      e.status as 400,
      NO_STORE,
    );
  };
  app.post("/admin/transcode", async (c) => {
    try {
      const job = await jobs.submit(await readJson(c));
      return c.json({ job }, 202, {
        ...NO_STORE,
        Location: `/admin/jobs/${job.id}`,
      });
    } catch (e) {
      return fail(c, e);
    }
  });
  app.get("/admin/jobs", (c) => c.json({ jobs: jobs.list() }, 200, NO_STORE));
  app.get("/admin/jobs/:id", (c) => {
    const job = jobs.get(c.req.param("id"));
    if (!job) {
      return fail(
        c,
        new TranscodeError(
          TranscodeErrorCode.NotFound,
          `Cannot find job '${c.req.param("id").slice(0, 64)}'`,
        ),
      );
    }
    return c.json({ job }, 200, NO_STORE);
  });
  app.delete("/admin/jobs/:id", async (c) => {
    try {
      return c.json(
        { job: await jobs.cancel(c.req.param("id")) },
        200,
        NO_STORE,
      );
    } catch (e) {
      return fail(c, e);
    }
  });
  return app;
}
