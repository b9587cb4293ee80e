/**
 * The programme guide of a channel (`GET /{app}/{stream}/programs`): what plays now, what
 * comes next and when, and the day's slots, as JSON-ready values.
 *
 * @module
 */

import type { CurrentItem } from "./channel.ts";
import type { Programme } from "./programme.ts";
import { formatClockTime } from "./wall_clock.ts";

/** The item playing now, as the guide shows it. */
export interface NowView {
  readonly file: string;
  readonly source: "playlist" | "schedule";
  readonly index: number;
  readonly startedAt: string;
  /** When it is expected to end: its length, or the slot that cuts it short. */
  readonly endsAt: string;
  readonly durationSeconds: number;
}

/** The item expected next. */
export interface NextView {
  readonly file: string;
  readonly source: "playlist" | "schedule";
  readonly index: number;
  readonly startsAt: string;
}

/** One slot of the day. */
export interface SlotView {
  /** `HH:MM` in the channel's time zone. */
  readonly at: string;
  readonly file: string;
  readonly startsAt: string;
  /** `done` (played or passed), `playing`, `upcoming`. */
  readonly state: "done" | "playing" | "upcoming";
}

/** The whole guide. */
export interface ProgramsView {
  readonly app: string;
  readonly stream: string;
  readonly timeZone: string;
  /** The channel's clock when the guide was made. */
  readonly time: string;
  readonly live: boolean;
  readonly loop: boolean;
  readonly loops: number;
  readonly now: NowView | null;
  readonly next: NextView | null;
  /** Today's slots (the channel's time zone), in time order. */
  readonly schedule: readonly SlotView[];
  readonly playlist: readonly string[];
}

/** What the guide reads from a channel. */
export interface GuideSource {
  readonly app: string;
  readonly stream: string;
  readonly live: boolean;
  readonly current: CurrentItem | undefined;
  readonly programme: Programme;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** How files are named in a guide. */
export type FileNames = "full" | "base";

/**
 * The last segment of a path (`/srv/films/a.mp4` → `a.mp4`): what a public guide shows, so
 * that the server's folders are not published to every viewer.
 */
export function baseName(path: string): string {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return path.slice(slash + 1);
}

/**
 * Builds the guide of `channel` at `nowMs`. The next item's start is an estimate: when the
 * current item's last frame is due (a slot that cuts it short ends it at the slot's time, give
 * or take the rest of a GOP).
 *
 * @param names `base` (the public guide: file names only) or `full` (the admin view: paths).
 */
export function programsOf(
  channel: GuideSource,
  nowMs: number,
  names: FileNames = "base",
): ProgramsView {
  const name = names === "full" ? (f: string) => f : baseName;
  const p = channel.programme;
  const cur = channel.current;
  let endMs = nowMs;
  let now: NowView | null = null;
  if (cur) {
    endMs = Math.max(
      nowMs,
      Math.min(cur.expectedEndMs, cur.interruptAtMs ?? Infinity),
    );
    now = {
      file: name(cur.file),
      source: cur.source,
      index: cur.index,
      startedAt: iso(cur.startedAtMs),
      endsAt: iso(endMs),
      durationSeconds: Math.round(cur.durationMs) / 1000,
    };
  }
  const slot = p.nextSlotAfter(nowMs);
  let next: NextView | null = null;
  const fromPlaylist = p.peekPlaylist();
  if (slot && (slot.startMs <= endMs || !fromPlaylist)) {
    next = {
      file: name(slot.slot.file),
      source: "schedule",
      index: slot.index,
      startsAt: iso(slot.startMs),
    };
  } else if (fromPlaylist) {
    next = {
      file: name(fromPlaylist.file),
      source: "playlist",
      index: fromPlaylist.index,
      startsAt: iso(endMs),
    };
  }
  const schedule = p.slotsOfDay(nowMs).map((s): SlotView => {
    const playing = cur?.source === "schedule" && cur.dueMs === s.startMs &&
      cur.index === s.index;
    return {
      at: formatClockTime(s.slot.minutes),
      file: name(s.slot.file),
      startsAt: iso(s.startMs),
      state: playing ? "playing" : s.startMs <= nowMs ? "done" : "upcoming",
    };
  });
  return {
    app: channel.app,
    stream: channel.stream,
    timeZone: p.timeZone,
    time: iso(nowMs),
    live: channel.live,
    loop: p.loop,
    loops: p.loops,
    now,
    next,
    schedule,
    playlist: p.playlist.map(name),
  };
}
