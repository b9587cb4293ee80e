/**
 * The DVR: every finished live HLS segment of a stream with time-shift is kept on disk with an
 * append-only index per publish session, for a sliding window, under a byte budget.
 *
 * Layout (below `origin.dvr.dir`, default `${dataDir}/dvr`):
 *
 * ```text
 * {app}/{stream}/{session}.idx    one JSON line per segment (see dvr_index.ts)
 * {app}/{stream}/{name}.ts        the segment, under the name the live playlist gave it
 * ```
 *
 * The DVR is a listener of the live packager's segments ({@link HlsSegmentObserver}), not a
 * second segmenter: the bytes on disk are the bytes live viewers got, under the same names, so
 * an edge that cached a segment live serves it to time-shift viewers too.
 *
 * Crash safety: a segment is written and fsync'ed, then its index line is appended and
 * fsync'ed; the in-memory window lists it only after both. A `kill -9` (or a power loss) thus
 * loses at most the segment being recorded (it is in the packager's memory until it closes);
 * at start-up the index is read back, a torn last line dropped, entries whose file is gone
 * skipped, and files no index names removed.
 *
 * Bounds: each stream's window (`windowSeconds`) slides, oldest segments deleted; the app's and
 * the overall `maxBytes` evict oldest first across streams, with a log line. Writes are queued
 * per stream off the fan-out path; a full disk stops DVR writes (logged once, a metric set,
 * tried again every {@link DISK_FULL_RETRY_MS}) and never touches the live stream.
 *
 * @module
 */

import type { Hub } from "../stream/hub.ts";
import type { HlsSegment, HlsSegmentObserver } from "../hls/mod.ts";
import { describeError, type Logger } from "../log.ts";
import {
  type DvrIndexEntry,
  encodeEndLine,
  encodeEntryLine,
  encodeHeaderLine,
  parseIndex,
  SEGMENT_NAME_RE,
} from "./dvr_index.ts";
import { isDiskFull } from "./errors.ts";
import {
  listDir,
  removeIfPresent,
  syncDir,
  writeAll,
  writeFileDurably,
} from "./files.ts";
import type { ArchivePolicies, DvrPolicy } from "./policy.ts";

/** After a full disk, DVR writes are tried again this long after (ms). */
export const DISK_FULL_RETRY_MS = 5_000;
/** Windows of streams without new segments (ended, idle) are swept this often (ms). */
export const SWEEP_INTERVAL_MS = 10_000;
/** Segment bytes queued for the disk per stream; beyond it segments are dropped (a slow disk). */
export const MAX_QUEUED_BYTES_PER_STREAM = 64 * 1024 * 1024;
/** An index is rewritten without its evicted lines once it has this many (and more dead than live). */
export const INDEX_COMPACT_MIN_DEAD_LINES = 1_000;
/** Largest index file read at start-up (bytes): about 40 days of 2 s segments. */
export const MAX_INDEX_FILE_BYTES = 256 * 1024 * 1024;

const INDEX_EXT = ".idx";
/** App and stream names used as folder names (the registry's safe names). */
const PART_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;

function safePart(name: string): boolean {
  return PART_RE.test(name) && !name.includes("..");
}

/** One kept segment. */
export interface DvrSegment extends DvrIndexEntry {
  /** The publish session it belongs to. */
  readonly session: string;
}

/** One publish session of a stream, as the archive shows it. */
export interface DvrSessionInfo {
  readonly id: string;
  readonly startedAtMs: number;
  /** When the publisher left (or, after a crash, the end of its last segment). */
  readonly endedAtMs: number | undefined;
  readonly live: boolean;
}

/** What the archive holds of one stream. */
export interface DvrStreamView {
  readonly app: string;
  readonly stream: string;
  /** Oldest first (by EXT-X-PROGRAM-DATE-TIME). */
  readonly segments: readonly DvrSegment[];
  /** Sessions with at least one kept segment, or live; oldest first. */
  readonly sessions: readonly DvrSessionInfo[];
  /** The stream's window now (from its policy), ms. */
  readonly windowMs: number;
  /** A publish of the stream is live now. */
  readonly live: boolean;
  /** Bytes of its kept segments. */
  readonly bytes: number;
}

/** Options of {@link DvrStore.open}. */
export interface DvrStoreOptions {
  /** The folder (created when missing). */
  readonly dir: string;
  /** Overall cap of kept bytes, every stream together. */
  readonly maxBytes: number;
  readonly policies: ArchivePolicies;
  readonly log: Logger;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
  /** @default SWEEP_INTERVAL_MS; 0 = no timer (tests call sweep()). */
  readonly sweepIntervalMs?: number;
  /** @default INDEX_COMPACT_MIN_DEAD_LINES */
  readonly compactMinDeadLines?: number;
}

/** Counters of the DVR for /metrics. */
export interface DvrStats {
  readonly evicted: Record<"window" | "max_bytes" | "policy", number>;
  readonly dropped: Record<"disk_full" | "backlog" | "write_error", number>;
  written: number;
  writtenBytes: number;
}

interface SessionState {
  readonly id: string;
  readonly startedAtMs: number;
  endedAtMs: number | undefined;
  live: boolean;
  readonly indexPath: string;
  /** The append handle, while the session is live and the file exists. */
  file: Deno.FsFile | undefined;
  /** Kept segments of the session. */
  kept: number;
  /** Index lines of segments no longer kept. */
  dead: number;
}

interface StreamState {
  readonly app: string;
  readonly stream: string;
  readonly key: string;
  readonly dir: string;
  readonly segments: DvrSegment[];
  readonly byName: Map<string, DvrSegment>;
  readonly sessions: Map<string, SessionState>;
  bytes: number;
  policy: DvrPolicy | undefined;
  live: SessionState | undefined;
  /** Writes of this stream, one after the other. */
  queue: Promise<void>;
  queuedBytes: number;
  madeDir: boolean;
  readonly listeners: Set<(segment: DvrSegment) => void>;
}

/**
 * The DVR store: the HLS packagers' segment observer and the archive's time-addressed index.
 *
 * @example
 * ```ts
 * import { DvrStore } from "./dvr_store.ts";
 * import { ArchivePolicies } from "./policy.ts";
 * import { DEFAULTS } from "../../config/mod.ts";
 * import { silentLogger } from "../log.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const dvr = await DvrStore.open({ dir, maxBytes: 1 << 30, policies: new ArchivePolicies(DEFAULTS.origin), log: silentLogger, sweepIntervalMs: 0 });
 * assert.equal(dvr.view("live", "cam"), undefined);
 * await dvr.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class DvrStore implements HlsSegmentObserver {
  readonly #o: DvrStoreOptions;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #streams = new Map<string, StreamState>();
  readonly #hubSessions = new WeakMap<Hub, SessionState>();
  #total = 0;
  #diskFullUntil = 0;
  #diskFull = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly stats: DvrStats = {
    evicted: { window: 0, max_bytes: 0, policy: 0 },
    dropped: { disk_full: 0, backlog: 0, write_error: 0 },
    written: 0,
    writtenBytes: 0,
  };

  private constructor(options: DvrStoreOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
  }

  /**
   * Opens the store: reads every session index below `dir` back (the window before a restart
   * or a crash), removes what no index names, and applies the windows and caps of the config
   * now in force.
   *
   * @throws {Error} When `dir` cannot be created or read.
   */
  static async open(options: DvrStoreOptions): Promise<DvrStore> {
    const store = new DvrStore(options);
    await Deno.mkdir(options.dir, { recursive: true });
    for (const app of await listDir(options.dir)) {
      if (!app.isDirectory || !safePart(app.name)) continue;
      for (const stream of await listDir(`${options.dir}/${app.name}`)) {
        if (!stream.isDirectory || !safePart(stream.name)) continue;
        await store.#load(app.name, stream.name);
      }
    }
    for (const s of store.#streams.values()) {
      s.policy = options.policies.dvr(s.app, s.stream);
      store.#applyWindow(s, s.policy ? "window" : "policy");
    }
    store.#applyCaps();
    const every = options.sweepIntervalMs ?? SWEEP_INTERVAL_MS;
    if (every > 0) {
      store.#timer = setInterval(() => store.sweep(), every);
      Deno.unrefTimer(store.#timer);
    }
    return store;
  }

  async #load(app: string, stream: string): Promise<void> {
    const dir = `${this.#o.dir}/${app}/${stream}`;
    const entries = await listDir(dir);
    const files = new Set<string>();
    const indexes: string[] = [];
    for (const e of entries) {
      if (!e.isFile) continue;
      if (e.name.endsWith(".tmp")) await removeIfPresent(`${dir}/${e.name}`);
      else if (e.name.endsWith(INDEX_EXT)) indexes.push(e.name);
      else if (SEGMENT_NAME_RE.test(e.name)) files.add(e.name);
    }
    const s = this.#state(app, stream);
    s.madeDir = true;
    let dropped = 0;
    let missing = 0;
    for (const name of indexes.sort()) {
      const path = `${dir}/${name}`;
      let text: string;
      try {
        const info = await Deno.stat(path);
        if (info.size > MAX_INDEX_FILE_BYTES) {
          this.#log.warn("DVR index too large, ignored", {
            file: path,
            bytes: info.size,
          });
          continue;
        }
        text = await Deno.readTextFile(path);
      } catch (err) {
        this.#log.warn("cannot read a DVR index", {
          file: path,
          error: describeError(err),
        });
        continue;
      }
      const parsed = parseIndex(text);
      dropped += parsed.dropped;
      const id = parsed.header?.session ?? name.slice(0, -INDEX_EXT.length);
      const kept = parsed.entries.filter((e) => {
        if (files.has(e.name) && !s.byName.has(e.name)) return true;
        missing++;
        return false;
      });
      const last = kept[kept.length - 1];
      const session: SessionState = {
        id,
        startedAtMs: parsed.header?.startedAtMs ??
          kept[0]?.programDateTimeMs ?? 0,
        // A session cut by a crash ended where its last segment ends.
        endedAtMs: parsed.endedAtMs ??
          (last ? last.programDateTimeMs + last.durationMs : undefined),
        live: false,
        indexPath: path,
        file: undefined,
        kept: kept.length,
        dead: parsed.entries.length - kept.length,
      };
      if (kept.length === 0) {
        await removeIfPresent(path);
        continue;
      }
      s.sessions.set(id, session);
      for (const e of kept) {
        const seg: DvrSegment = { ...e, session: id };
        s.segments.push(seg);
        s.byName.set(e.name, seg);
        s.bytes += e.bytes;
        this.#total += e.bytes;
      }
    }
    s.segments.sort((a, b) => a.programDateTimeMs - b.programDateTimeMs);
    // Files no index names: a segment written when the process died before its index line.
    let orphans = 0;
    for (const f of files) {
      if (s.byName.has(f)) continue;
      orphans++;
      await removeIfPresent(`${dir}/${f}`);
    }
    if (dropped || missing || orphans) {
      this.#log.info("DVR index recovered", {
        stream: s.key,
        segments: s.segments.length,
        tornLines: dropped,
        missingFiles: missing,
        orphanFiles: orphans,
      });
    }
    if (s.segments.length === 0 && s.sessions.size === 0) {
      this.#streams.delete(s.key);
    }
  }

  #state(app: string, stream: string): StreamState {
    const key = `${app}/${stream}`;
    let s = this.#streams.get(key);
    if (!s) {
      s = {
        app,
        stream,
        key,
        dir: `${this.#o.dir}/${app}/${stream}`,
        segments: [],
        byName: new Map(),
        sessions: new Map(),
        bytes: 0,
        policy: undefined,
        live: undefined,
        queue: Promise.resolve(),
        queuedBytes: 0,
        madeDir: false,
        listeners: new Set(),
      };
      this.#streams.set(key, s);
    }
    return s;
  }

  /** True while DVR writes are stopped by a full disk. */
  get diskFull(): boolean {
    return this.#diskFull;
  }

  /** Bytes kept, every stream together. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Segments kept, every stream together. */
  get totalSegments(): number {
    let n = 0;
    for (const s of this.#streams.values()) n += s.segments.length;
    return n;
  }

  /** Bytes kept by app. */
  bytesByApp(): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.#streams.values()) {
      out.set(s.app, (out.get(s.app) ?? 0) + s.bytes);
    }
    return out;
  }

  /** Streams the archive holds (or records now). */
  list(): DvrStreamView[] {
    return [...this.#streams.values()].map((s) => this.#view(s));
  }

  /** What the archive holds of a stream, or `undefined` when nothing. */
  view(app: string, stream: string): DvrStreamView | undefined {
    const s = this.#streams.get(`${app}/${stream}`);
    return s ? this.#view(s) : undefined;
  }

  /** Whether the stream has time-shift under the config now in force. */
  enabled(app: string, stream: string): boolean {
    return this.#o.policies.dvr(app, stream) !== undefined;
  }

  #view(s: StreamState): DvrStreamView {
    const sessions: DvrSessionInfo[] = [...s.sessions.values()]
      .filter((x) => x.kept > 0 || x.live)
      .sort((a, b) => a.startedAtMs - b.startedAtMs)
      .map((x) => ({
        id: x.id,
        startedAtMs: x.startedAtMs,
        endedAtMs: x.endedAtMs,
        live: x.live,
      }));
    return {
      app: s.app,
      stream: s.stream,
      segments: s.segments,
      sessions,
      windowMs: (s.policy ?? this.#o.policies.dvr(s.app, s.stream))?.windowMs ??
        0,
      live: s.live !== undefined,
      bytes: s.bytes,
    };
  }

  /** The file of a kept segment, or `undefined`. */
  segmentFile(app: string, stream: string, name: string): string | undefined {
    const s = this.#streams.get(`${app}/${stream}`);
    const full = name.endsWith(".ts") ? name : `${name}.ts`;
    return s?.byName.has(full) ? `${s.dir}/${full}` : undefined;
  }

  /** The kept segment of that name, or `undefined`. */
  segment(app: string, stream: string, name: string): DvrSegment | undefined {
    const full = name.endsWith(".ts") ? name : `${name}.ts`;
    return this.#streams.get(`${app}/${stream}`)?.byName.get(full);
  }

  /** The folder of a stream's files (segments are `${dir}/${segment.name}`). */
  streamDir(app: string, stream: string): string {
    return `${this.#o.dir}/${app}/${stream}`;
  }

  /**
   * Calls `fn` with each segment the stream keeps from now on (after it is on disk).
   *
   * @returns What stops it.
   */
  subscribe(
    app: string,
    stream: string,
    fn: (segment: DvrSegment) => void,
  ): () => void {
    const s = this.#state(app, stream);
    s.listeners.add(fn);
    return () => s.listeners.delete(fn);
  }

  /** {@link HlsSegmentObserver}: a live segment is finished. */
  onSegment(hub: Hub, segment: HlsSegment): void {
    if (this.#closed) return;
    const session = this.#sessionOf(hub);
    if (!session) return;
    const s = this.#streams.get(`${hub.app}/${hub.name}`)!;
    const now = this.#now();
    if (this.#diskFull && now < this.#diskFullUntil) {
      this.stats.dropped.disk_full++;
      return;
    }
    const bytes = segment.bytes.byteLength;
    if (s.queuedBytes + bytes > MAX_QUEUED_BYTES_PER_STREAM) {
      this.stats.dropped.backlog++;
      this.#log.warn("DVR write backlog full: segment dropped", {
        stream: s.key,
        segment: segment.name,
        queuedBytes: s.queuedBytes,
      });
      return;
    }
    // Wall-clock order is the archive's order: a clock stepped back is clamped.
    const prev = s.segments[s.segments.length - 1];
    const pdt = prev
      ? Math.max(
        segment.programDateTimeMs,
        prev.programDateTimeMs + prev.durationMs,
      )
      : segment.programDateTimeMs;
    const entry: DvrSegment = {
      name: segment.name,
      sequence: segment.sequence,
      programDateTimeMs: pdt,
      durationMs: Math.round(segment.durationMs),
      mediaStartMs: segment.mediaStartMs ?? 0,
      bytes,
      discontinuity: segment.discontinuity,
      session: session.id,
    };
    s.queuedBytes += bytes;
    s.queue = s.queue.then(() => this.#write(s, session, entry, segment.bytes))
      .finally(() => {
        s.queuedBytes -= bytes;
      });
  }

  /** {@link HlsSegmentObserver}: the publish ended (its last segment was told before). */
  onPublishEnd(hub: Hub): void {
    const session = this.#hubSessions.get(hub);
    if (!session) return;
    this.#hubSessions.delete(hub);
    const s = this.#streams.get(`${hub.app}/${hub.name}`);
    if (!s) return;
    const endedAt = this.#now();
    s.queue = s.queue.then(async () => {
      session.live = false;
      session.endedAtMs = endedAt;
      if (s.live === session) s.live = undefined;
      const f = session.file;
      session.file = undefined;
      if (f) {
        try {
          await writeAll(f, new TextEncoder().encode(encodeEndLine(endedAt)));
          await f.syncData();
        } catch (err) {
          this.#log.warn("cannot close a DVR index", {
            stream: s.key,
            error: describeError(err),
          });
        } finally {
          f.close();
        }
      }
      // Every segment already left the window (or none was kept): nothing to index.
      if (session.kept === 0) {
        s.sessions.delete(session.id);
        await removeIfPresent(session.indexPath).catch(() => {});
      }
    });
  }

  #sessionOf(hub: Hub): SessionState | undefined {
    const known = this.#hubSessions.get(hub);
    if (known) return known;
    const policy = this.#o.policies.dvr(hub.app, hub.name);
    if (!policy || !safePart(hub.app) || !safePart(hub.name)) return undefined;
    const s = this.#state(hub.app, hub.name);
    s.policy = policy;
    let id = String(hub.startedAtMs);
    for (let n = 1; s.sessions.has(id); n++) id = `${hub.startedAtMs}-${n}`;
    const session: SessionState = {
      id,
      startedAtMs: hub.startedAtMs,
      endedAtMs: undefined,
      live: true,
      indexPath: `${s.dir}/${id}${INDEX_EXT}`,
      file: undefined,
      kept: 0,
      dead: 0,
    };
    s.sessions.set(id, session);
    s.live = session;
    this.#hubSessions.set(hub, session);
    return session;
  }

  async #write(
    s: StreamState,
    session: SessionState,
    entry: DvrSegment,
    bytes: Uint8Array,
  ): Promise<void> {
    if (this.#closed) return;
    const path = `${s.dir}/${entry.name}`;
    try {
      if (!s.madeDir) {
        await Deno.mkdir(s.dir, { recursive: true });
        s.madeDir = true;
      }
      await writeFileDurably(path, bytes);
      const enc = new TextEncoder();
      if (!session.file) {
        const fresh = session.kept === 0 && session.dead === 0;
        session.file = await Deno.open(session.indexPath, {
          append: true,
          create: true,
        });
        if (fresh) {
          await writeAll(
            session.file,
            enc.encode(encodeHeaderLine({
              session: session.id,
              app: s.app,
              stream: s.stream,
              startedAtMs: session.startedAtMs,
            })),
          );
          await syncDir(s.dir);
        }
      }
      await writeAll(session.file, enc.encode(encodeEntryLine(entry)));
      await session.file.syncData();
    } catch (err) {
      await removeIfPresent(path).catch(() => {});
      if (isDiskFull(err)) {
        this.stats.dropped.disk_full++;
        this.#diskFullUntil = this.#now() + DISK_FULL_RETRY_MS;
        if (!this.#diskFull) {
          this.#diskFull = true;
          this.#log.error(
            "DVR disk full: DVR writes stopped (live streams go on)",
            {
              stream: s.key,
              dir: this.#o.dir,
              retrySeconds: DISK_FULL_RETRY_MS / 1000,
            },
          );
        }
      } else {
        this.stats.dropped.write_error++;
        this.#log.error("DVR write failed: segment dropped", {
          stream: s.key,
          segment: entry.name,
          error: describeError(err),
        });
      }
      return;
    }
    if (this.#diskFull) {
      this.#diskFull = false;
      this.#log.info("DVR writes resumed", { dir: this.#o.dir });
    }
    this.stats.written++;
    this.stats.writtenBytes += entry.bytes;
    s.segments.push(entry);
    s.byName.set(entry.name, entry);
    s.bytes += entry.bytes;
    this.#total += entry.bytes;
    session.kept++;
    for (const fn of s.listeners) {
      try {
        fn(entry);
      } catch (err) {
        this.#log.warn("DVR listener failed", { error: describeError(err) });
      }
    }
    this.#applyWindow(s, "window");
    this.#applyCaps();
    if (
      session.file &&
      session.dead >=
        (this.#o.compactMinDeadLines ?? INDEX_COMPACT_MIN_DEAD_LINES) &&
      session.dead > session.kept
    ) await this.#compact(s, session);
  }

  /** Rewrites a live session's index without the lines of evicted segments. */
  async #compact(s: StreamState, session: SessionState): Promise<void> {
    const lines = [encodeHeaderLine({
      session: session.id,
      app: s.app,
      stream: s.stream,
      startedAtMs: session.startedAtMs,
    })];
    for (const seg of s.segments) {
      if (seg.session === session.id) lines.push(encodeEntryLine(seg));
    }
    const tmp = `${session.indexPath}.tmp`;
    try {
      await writeFileDurably(tmp, new TextEncoder().encode(lines.join("")));
      session.file?.close();
      session.file = undefined;
      await Deno.rename(tmp, session.indexPath);
      session.file = await Deno.open(session.indexPath, { append: true });
      session.dead = 0;
    } catch (err) {
      this.#log.warn("cannot compact a DVR index", {
        stream: s.key,
        error: describeError(err),
      });
    }
  }

  /** Applies every stream's window now (the timer calls it for streams without new segments). */
  sweep(): void {
    for (const s of this.#streams.values()) this.#applyWindow(s, "window");
  }

  #applyWindow(s: StreamState, reason: "window" | "policy"): void {
    // A stream without time-shift now keeps nothing, whatever the clock says.
    const cutoff = reason === "policy"
      ? Infinity
      : this.#now() - (s.policy?.windowMs ?? 0);
    let n = 0;
    while (n < s.segments.length) {
      const seg = s.segments[n]!;
      if (seg.programDateTimeMs + seg.durationMs >= cutoff) break;
      n++;
    }
    if (n === 0) return;
    const gone = this.#evictFront(s, n);
    this.stats.evicted[reason] += n;
    if (reason === "policy") {
      this.#log.info("DVR off for this stream now: its kept segments removed", {
        stream: s.key,
        segments: n,
        bytes: gone,
      });
    }
  }

  /** Oldest first: each app over its own cap, then everything over the overall cap. */
  #applyCaps(): void {
    const byApp = this.bytesByApp();
    for (const [app, bytes] of byApp) {
      const cap = this.#o.policies.appDvr(app).maxBytes;
      if (cap > 0 && bytes > cap) this.#evictOldest(bytes - cap, app);
    }
    if (this.#total > this.#o.maxBytes) {
      this.#evictOldest(this.#total - this.#o.maxBytes, undefined);
    }
  }

  #evictOldest(excess: number, app: string | undefined): void {
    let freed = 0;
    let count = 0;
    const touched = new Set<string>();
    while (freed < excess) {
      let oldest: StreamState | undefined;
      for (const s of this.#streams.values()) {
        if (app !== undefined && s.app !== app) continue;
        const first = s.segments[0];
        if (!first) continue;
        if (
          !oldest ||
          first.programDateTimeMs < oldest.segments[0]!.programDateTimeMs
        ) oldest = s;
      }
      if (!oldest) break;
      freed += this.#evictFront(oldest, 1);
      count++;
      touched.add(oldest.key);
    }
    if (count === 0) return;
    this.stats.evicted.max_bytes += count;
    this.#log.warn("DVR over maxBytes: oldest segments evicted", {
      scope: app === undefined ? "all apps" : `app ${app}`,
      segments: count,
      bytes: freed,
      streams: [...touched].join(","),
    });
  }

  /** Removes the stream's `n` oldest segments (memory now, files soon); returns their bytes. */
  #evictFront(s: StreamState, n: number): number {
    const gone = s.segments.splice(0, n);
    let bytes = 0;
    const emptied: SessionState[] = [];
    for (const seg of gone) {
      bytes += seg.bytes;
      s.byName.delete(seg.name);
      const session = s.sessions.get(seg.session);
      if (session) {
        session.kept--;
        session.dead++;
        if (session.kept === 0 && !session.live) emptied.push(session);
      }
    }
    s.bytes -= bytes;
    this.#total -= bytes;
    for (const session of emptied) s.sessions.delete(session.id);
    // Files go after memory: a reader that found a name a moment ago may still get a 404.
    const dir = s.dir;
    (async () => {
      for (const seg of gone) await removeIfPresent(`${dir}/${seg.name}`);
      for (const session of emptied) {
        session.file?.close();
        await removeIfPresent(session.indexPath);
      }
    })().catch((err) =>
      this.#log.warn("cannot delete DVR files", {
        stream: s.key,
        error: describeError(err),
      })
    );
    if (s.segments.length === 0 && s.sessions.size === 0 && !s.live) {
      if (s.listeners.size === 0) this.#streams.delete(s.key);
    }
    return bytes;
  }

  /** Resolves when every write queued so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.#streams.values()].map((s) => s.queue));
  }

  /** Stops: writes queued so far finish, index files are closed (live sessions stay open-ended). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    this.#closed = true;
    for (const s of this.#streams.values()) {
      for (const session of s.sessions.values()) {
        session.file?.close();
        session.file = undefined;
      }
    }
  }
}
