/**
 * Named programmes of each stream: those of the config (`origin.dvr.schedule`) and those set
 * through the admin API (`PUT /admin/programs/{app}/{stream}`), the latter kept in
 * `${stateDir}/programs/{app}/{stream}.json` (replaced atomically) so they survive restarts.
 *
 * @module
 */

import { type DvrScheduleItem, SCHEDULE_TIME_RE } from "../../config/mod.ts";
import { describeError, type Logger } from "../log.ts";
import { ArchiveError, ArchiveErrorCode } from "./errors.ts";
import { listDir, removeIfPresent, writeJsonAtomic } from "./files.ts";
import type { ProgrammeItem } from "./programs.ts";

/** Most programmes set for one stream through the admin API. */
export const MAX_PROGRAMMES_PER_STREAM = 1_000;
/** Longest programme title (characters). */
export const MAX_TITLE_LENGTH = 256;

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
 * Validates a programme list of the admin API: `{"programs": [{title, start, end}]}`, times
 * `HH:MM` (daily) or ISO 8601 date-times with a zone, each end after its start.
 *
 * @throws {ArchiveError} `ARCHIVE_BAD_REQUEST` naming the first bad field.
 *
 * @example
 * ```ts
 * import { parseProgrammeList } from "./schedule.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseProgrammeList({ programs: [{ title: "News", start: "19:00", end: "19:30" }] }).length, 1);
 * assert.throws(() => parseProgrammeList({ programs: [{ title: "", start: "19:00", end: "19:30" }] }), /programs\[0\]\.title/);
 * ```
 */
export function parseProgrammeList(body: unknown): ProgrammeItem[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw bad("", body, 'an object like {"programs": [...]}');
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (k !== "programs") throw bad(k, b[k], "only the key programs");
  }
  const list = b.programs;
  if (!Array.isArray(list) || list.length > MAX_PROGRAMMES_PER_STREAM) {
    throw bad(
      "programs",
      list,
      `a list of at most ${MAX_PROGRAMMES_PER_STREAM} programmes`,
    );
  }
  return list.map((raw, i) => {
    const key = `programs[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw bad(key, raw, "an object {title, start, end}");
    }
    const p = raw as Record<string, unknown>;
    for (const k of Object.keys(p)) {
      if (k !== "title" && k !== "start" && k !== "end") {
        throw bad(`${key}.${k}`, p[k], "one of title, start, end");
      }
    }
    if (
      typeof p.title !== "string" || p.title.trim() === "" ||
      p.title.length > MAX_TITLE_LENGTH
    ) {
      throw bad(
        `${key}.title`,
        p.title,
        `a title of 1..${MAX_TITLE_LENGTH} characters`,
      );
    }
    for (const f of ["start", "end"] as const) {
      const v = p[f];
      if (
        typeof v !== "string" || !SCHEDULE_TIME_RE.test(v) ||
        (v.length !== 5 && !Number.isFinite(Date.parse(v)))
      ) {
        throw bad(
          `${key}.${f}`,
          v,
          "HH:MM (daily) or an ISO 8601 date-time with a zone",
        );
      }
    }
    const start = p.start as string;
    const end = p.end as string;
    const daily = start.length === 5;
    if (daily !== (end.length === 5)) {
      throw bad(
        `${key}.end`,
        end,
        "the same form as start (HH:MM or a date-time)",
      );
    }
    if (daily ? start === end : Date.parse(end) <= Date.parse(start)) {
      throw bad(`${key}.end`, end, "a time after the start");
    }
    return { title: p.title, start, end };
  });
}

/** Every stream's named programmes. */
export class ProgrammeSchedule {
  readonly #dir: string | undefined;
  readonly #config: ReadonlyMap<string, ProgrammeItem[]>;
  readonly #set = new Map<string, ProgrammeItem[]>();
  readonly #log: Logger;

  private constructor(
    dir: string | undefined,
    config: readonly DvrScheduleItem[],
    log: Logger,
  ) {
    this.#dir = dir;
    this.#log = log;
    const byStream = new Map<string, ProgrammeItem[]>();
    for (const c of config) {
      const key = `${c.app}/${c.stream}`;
      const list = byStream.get(key) ?? [];
      list.push({ title: c.title, start: c.start, end: c.end });
      byStream.set(key, list);
    }
    this.#config = byStream;
  }

  /**
   * Loads the programmes set earlier through the admin API (below `dir`, when given).
   */
  static async open(
    dir: string | undefined,
    config: readonly DvrScheduleItem[],
    log: Logger,
  ): Promise<ProgrammeSchedule> {
    const s = new ProgrammeSchedule(dir, config, log);
    if (dir === undefined) return s;
    for (const app of await listDir(dir)) {
      if (!app.isDirectory) continue;
      for (const f of await listDir(`${dir}/${app.name}`)) {
        if (!f.isFile || !f.name.endsWith(".json")) continue;
        const path = `${dir}/${app.name}/${f.name}`;
        try {
          const items = parseProgrammeList(
            JSON.parse(await Deno.readTextFile(path)),
          );
          s.#set.set(`${app.name}/${f.name.slice(0, -5)}`, items);
        } catch (err) {
          log.warn("ignoring a malformed programme list", {
            file: path,
            error: describeError(err),
          });
        }
      }
    }
    return s;
  }

  /** The stream's programmes: the config's, then those set through the API. */
  forStream(app: string, stream: string): ProgrammeItem[] {
    const key = `${app}/${stream}`;
    return [...(this.#config.get(key) ?? []), ...(this.#set.get(key) ?? [])];
  }

  /** The programmes set through the API (the config's cannot be changed there). */
  setFor(app: string, stream: string): ProgrammeItem[] {
    return this.#set.get(`${app}/${stream}`) ?? [];
  }

  /** Replaces the stream's API-set programmes (an empty list removes them). */
  async replace(
    app: string,
    stream: string,
    items: readonly ProgrammeItem[],
  ): Promise<void> {
    const key = `${app}/${stream}`;
    if (this.#dir !== undefined) {
      const path = `${this.#dir}/${app}/${stream}.json`;
      if (items.length === 0) await removeIfPresent(path);
      else {
        await Deno.mkdir(`${this.#dir}/${app}`, { recursive: true });
        await writeJsonAtomic(path, { programs: items });
      }
    }
    if (items.length === 0) this.#set.delete(key);
    else this.#set.set(key, [...items]);
    this.#log.info("programmes set", { stream: key, programmes: items.length });
  }
}
