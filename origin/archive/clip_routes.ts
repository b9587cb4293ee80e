/**
 * The clips' admin API (behind the archive's admin gate):
 *
 * - `POST /admin/clips` `{app, stream, start, end, format, name?, exact?}` (the DVR) or
 *   `{path, start, end, …}` (a library file): 202 with the job at once (its URL in
 *   `Location`); a request that cannot be cut is refused at once (400/404/416, JSON);
 * - `GET /admin/clips` (every job kept, newest first), `GET /admin/clips/{id}` (state,
 *   percent, bytes, the library path when done), `DELETE /admin/clips/{id}` (cancels).
 *
 * @module
 */

import type { Hono } from "hono";
import type { Logger } from "../log.ts";
import type { ClipJob, ClipJobs } from "./clips.ts";
import { ArchiveError, ArchiveErrorCode } from "./errors.ts";
import { archiveErrorResponse, readJsonBody } from "./http.ts";

const NO_STORE = { "Cache-Control": "no-store" } as const;

/** A job as the API shows it (the scratch path is internal). */
export function clipView(job: ClipJob): Record<string, unknown> {
  const { partial: _partial, ...rest } = job;
  return { ...rest, status: `/admin/clips/${job.id}` };
}

/** Adds the clips' routes to the admin app. */
export function addClipRoutes(
  admin: Hono,
  jobs: ClipJobs,
  log: Logger,
): void {
  admin.post("/clips", async (c) => {
    try {
      const job = await jobs.submit(await readJsonBody(c));
      return c.json(clipView(job), 202, {
        ...NO_STORE,
        Location: `/admin/clips/${job.id}`,
      });
    } catch (err) {
      return archiveErrorResponse(err, log);
    }
  });
  admin.get(
    "/clips",
    (c) => c.json({ jobs: jobs.list().map(clipView) }, 200, NO_STORE),
  );
  admin.get("/clips/:id", (c) => {
    const job = jobs.get(c.req.param("id"));
    if (!job) {
      return archiveErrorResponse(
        new ArchiveError(
          ArchiveErrorCode.NotFound,
          `Cannot find clip job ${c.req.param("id").slice(0, 64)}`,
        ),
        log,
      );
    }
    return c.json(clipView(job), 200, NO_STORE);
  });
  admin.delete("/clips/:id", async (c) => {
    try {
      return c.json(
        clipView(await jobs.cancel(c.req.param("id"))),
        200,
        NO_STORE,
      );
    } catch (err) {
      return archiveErrorResponse(err, log);
    }
  });
}
