/**
 * The recordings' admin API (behind the archive's admin gate):
 *
 * - `GET /admin/recordings?app=&stream=`: recordings now and finished files, newest first;
 * - `POST /admin/recordings` `{"app","stream","action":"start"|"stop","formats"?:["mp4","flv"]}`:
 *   201 with the recording on start, 200 with its files on stop.
 *
 * @module
 */

import type { Hono } from "hono";
import type { RecordFormat } from "../../config/mod.ts";
import type { Logger } from "../log.ts";
import { ArchiveError, ArchiveErrorCode } from "./errors.ts";
import { archiveErrorResponse, isArchiveName, readJsonBody } from "./http.ts";
import type { Recorder } from "./recorder.ts";

const NO_STORE = { "Cache-Control": "no-store" } as const;

/** A validated `POST /admin/recordings` body. */
export interface RecordingCommand {
  readonly app: string;
  readonly stream: string;
  readonly action: "start" | "stop";
  readonly formats: readonly RecordFormat[] | undefined;
}

function bad(field: string, value: unknown, expected: string): ArchiveError {
  const shown = JSON.stringify(value) ?? String(value);
  return new ArchiveError(
    ArchiveErrorCode.BadRequest,
    `Invalid '${field}': got ${
      shown.length > 80 ? `${shown.slice(0, 80)}…` : shown
    }, expected ${expected}`,
    { field },
  );
}

/**
 * Validates a recording command.
 *
 * @throws {ArchiveError} `ARCHIVE_BAD_REQUEST` naming the first bad field.
 *
 * @example
 * ```ts
 * import { parseRecordingCommand } from "./recording_routes.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseRecordingCommand({ app: "live", stream: "cam", action: "start" }).action, "start");
 * assert.throws(() => parseRecordingCommand({ app: "live", stream: "../x", action: "start" }), /'stream'/);
 * ```
 */
export function parseRecordingCommand(body: unknown): RecordingCommand {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw bad("", body, 'an object like {"app","stream","action"}');
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!["app", "stream", "action", "formats"].includes(k)) {
      throw bad(k, b[k], "one of app, stream, action, formats");
    }
  }
  for (const f of ["app", "stream"] as const) {
    if (typeof b[f] !== "string" || !isArchiveName(b[f] as string)) {
      throw bad(f, b[f], "a stream name (letters, digits, '_', '-', '.')");
    }
  }
  if (b.action !== "start" && b.action !== "stop") {
    throw bad("action", b.action, "start or stop");
  }
  let formats: RecordFormat[] | undefined;
  if (b.formats !== undefined) {
    const f = b.formats;
    if (
      !Array.isArray(f) || f.length === 0 || new Set(f).size !== f.length ||
      f.some((x) => x !== "mp4" && x !== "flv")
    ) {
      throw bad(
        "formats",
        f,
        'a non-empty list of unique formats: "mp4", "flv"',
      );
    }
    formats = f as RecordFormat[];
  }
  return {
    app: b.app as string,
    stream: b.stream as string,
    action: b.action,
    formats,
  };
}

/** Adds the recordings' routes to the admin app. */
export function addRecordingRoutes(
  admin: Hono,
  recorder: Recorder,
  log: Logger,
): void {
  admin.get("/recordings", (c) => {
    const app = c.req.query("app");
    const stream = c.req.query("stream");
    const list = recorder.list({ app, stream });
    return c.json(
      {
        ...list,
        // The streams being recorded, in the shape control's console lists (control merges
        // every origin's `recordings`).
        recordings: list.active.map((r) => ({
          key: `${r.app}/${r.stream}`,
          app: r.app,
          stream: r.stream,
          id: r.id,
          state: "recording",
          startedAt: r.start,
          formats: r.formats,
          by: r.by,
        })),
      },
      200,
      NO_STORE,
    );
  });
  admin.post("/recordings", async (c) => {
    try {
      const cmd = parseRecordingCommand(await readJsonBody(c));
      if (cmd.action === "start") {
        const r = await recorder.start(cmd.app, cmd.stream, cmd.formats);
        return c.json({ recording: r }, 201, NO_STORE);
      }
      const r = await recorder.stop(cmd.app, cmd.stream);
      return c.json({ recording: r }, 200, NO_STORE);
    } catch (err) {
      return archiveErrorResponse(err, log);
    }
  });
}
