/**
 * The programme list (节目单) of a stream: what its window holds, as a player's scrub bar and
 * a guide show it. Pure: a stream's view, its named programmes and the clock in, entries out.
 *
 * Three kinds of entry, sorted by the start of their recorded part:
 * - `session`: one publish (a join of two is a discontinuity in the playlists);
 * - `hour`: a session cut at each hour of `origin.dvr.timeZone`, so a day is 24 entries;
 * - `programme`: a named programme (config `origin.dvr.schedule`, or set through the admin
 *   API) that overlaps what is recorded; its URLs cover the recorded part.
 *
 * Each entry has its time-shift URLs: the HLS playlist of its span (open-ended while it is
 * being recorded) and the HTTP-FLV from its start.
 *
 * @module
 */

import type { DvrStreamView } from "./dvr_store.ts";
import { type AvailableRange, availableRange } from "./errors.ts";
import { dailyOccurrences, hourStart } from "./time.ts";

/** A named programme as configured or set: times are `HH:MM` (daily) or ISO 8601. */
export interface ProgrammeItem {
  readonly title: string;
  readonly start: string;
  readonly end: string;
}

/** One entry of the list. */
export interface ProgrammeEntry {
  readonly kind: "session" | "hour" | "programme";
  readonly title: string;
  /** The span itself (a programme's may reach outside what is recorded). */
  readonly startMs: number;
  readonly endMs: number;
  /** The recorded part, which the URLs cover. */
  readonly recordedStartMs: number;
  readonly recordedEndMs: number;
  /** Still being recorded: the URLs are open-ended. */
  readonly live: boolean;
  /** The publish session (`session` and `hour` entries). */
  readonly session?: string | undefined;
}

/** Options of {@link listProgrammes}. */
export interface ProgrammeListOptions {
  readonly nowMs: number;
  /** IANA zone of hour boundaries and daily programmes. */
  readonly timeZone: string;
}

/** Most entries returned (a week of hours plus programmes fits). */
export const MAX_PROGRAMME_ENTRIES = 2_000;

/**
 * The entries of a stream's window.
 *
 * @example
 * ```ts
 * import { listProgrammes } from "./programs.ts";
 * import assert from "node:assert/strict";
 * const t0 = Date.UTC(2024, 4, 1, 11, 50);
 * const segs = [0, 1, 2].map((n) => ({ name: `p-${n}.ts`, sequence: n, programDateTimeMs: t0 + n * 600_000, durationMs: 600_000, mediaStartMs: 0, bytes: 1, discontinuity: false, session: "s1" }));
 * const view = { app: "live", stream: "cam", segments: segs, sessions: [{ id: "s1", startedAtMs: t0, endedAtMs: t0 + 1_800_000, live: false }], windowMs: 7_200_000, live: false, bytes: 3 };
 * const list = listProgrammes(view, [{ title: "Noon", start: "12:00", end: "12:10" }], { nowMs: t0 + 3_600_000, timeZone: "UTC" });
 * assert.deepEqual(list.map((e) => e.kind), ["session", "hour", "hour", "programme"]);
 * ```
 */
export function listProgrammes(
  view: DvrStreamView,
  items: readonly ProgrammeItem[],
  options: ProgrammeListOptions,
): ProgrammeEntry[] {
  const out: ProgrammeEntry[] = [];
  const spans: { id: string; startMs: number; endMs: number; live: boolean }[] =
    [];
  const live = new Map(view.sessions.map((s) => [s.id, s.live]));
  for (const seg of view.segments) {
    const last = spans[spans.length - 1];
    const end = seg.programDateTimeMs + seg.durationMs;
    if (last && last.id === seg.session) last.endMs = end;
    else {
      spans.push({
        id: seg.session,
        startMs: seg.programDateTimeMs,
        endMs: end,
        live: live.get(seg.session) ?? false,
      });
    }
  }
  const name = `${view.app}/${view.stream}`;
  for (const s of spans) {
    out.push({
      kind: "session",
      title: `${name} ${clock(s.startMs, options.timeZone)}`,
      startMs: s.startMs,
      endMs: s.endMs,
      recordedStartMs: s.startMs,
      recordedEndMs: s.endMs,
      live: s.live,
      session: s.id,
    });
    for (let h = hourStart(options.timeZone, s.startMs); h < s.endMs;) {
      const next = hourStart(options.timeZone, h + 3_600_000 + 1000);
      const from = Math.max(h, s.startMs);
      const to = Math.min(next, s.endMs);
      out.push({
        kind: "hour",
        title: `${clock(h, options.timeZone)}–${clock(next, options.timeZone)}`,
        startMs: h,
        endMs: next,
        recordedStartMs: from,
        recordedEndMs: to,
        live: s.live && to === s.endMs,
        session: s.id,
      });
      h = next;
      if (out.length > MAX_PROGRAMME_ENTRIES) break;
    }
  }
  const first = spans[0];
  const lastSpan = spans[spans.length - 1];
  if (first && lastSpan) {
    const from = first.startMs;
    const to = lastSpan.endMs;
    for (const item of items) {
      const showings = item.start.length === 5
        ? dailyOccurrences(item.start, item.end, options.timeZone, from, to)
        : [{ startMs: Date.parse(item.start), endMs: Date.parse(item.end) }];
      for (const p of showings) {
        // The recorded part: the sessions' spans that overlap the showing.
        let rs = Infinity;
        let re = -Infinity;
        let isLive = false;
        for (const s of spans) {
          if (s.endMs <= p.startMs || s.startMs >= p.endMs) continue;
          rs = Math.min(rs, Math.max(s.startMs, p.startMs));
          re = Math.max(re, Math.min(s.endMs, p.endMs));
          if (s.live && s.endMs < p.endMs) isLive = true;
        }
        if (rs >= re) continue;
        out.push({
          kind: "programme",
          title: item.title,
          startMs: p.startMs,
          endMs: p.endMs,
          recordedStartMs: rs,
          recordedEndMs: re,
          live: isLive,
        });
      }
    }
  }
  const order = { session: 0, hour: 1, programme: 2 } as const;
  out.sort((a, b) =>
    a.recordedStartMs - b.recordedStartMs || order[a.kind] - order[b.kind]
  );
  return out.slice(0, MAX_PROGRAMME_ENTRIES);
}

/** `HH:MM` of `ms` in `timeZone`. */
function clock(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date(ms));
}

/** One entry as `GET /{app}/{stream}/programs` shows it, with its time-shift URLs. */
export function programmeJson(
  view: Pick<DvrStreamView, "app" | "stream">,
  e: ProgrammeEntry,
): Record<string, unknown> {
  const base = `/${view.app}/${view.stream}`;
  const start = Math.floor(e.recordedStartMs / 1000);
  const end = Math.ceil(e.recordedEndMs / 1000);
  return {
    kind: e.kind,
    title: e.title,
    ...availableRange(e.startMs, e.endMs),
    recorded: availableRange(e.recordedStartMs, e.recordedEndMs),
    live: e.live,
    ...(e.session === undefined ? {} : { session: e.session }),
    urls: {
      hls: e.live
        ? `${base}.m3u8?start=${start}`
        : `${base}.m3u8?start=${start}&end=${end}`,
      flv: `${base}.flv?start=${start}`,
    },
  };
}

/** The whole answer of `GET /{app}/{stream}/programs`. */
export function programmesBody(
  view: DvrStreamView,
  entries: readonly ProgrammeEntry[],
  available: AvailableRange | undefined,
): Record<string, unknown> {
  return {
    app: view.app,
    stream: view.stream,
    live: view.live,
    window: {
      seconds: view.windowMs / 1000,
      ...(available ?? {}),
    },
    available: available ?? null,
    programs: entries.map((e) => programmeJson(view, e)),
  };
}
