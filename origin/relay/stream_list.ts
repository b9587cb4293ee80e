/**
 * Which streams exist upstream, so a request for a stream that is nowhere is a 404 at once
 * rather than after a pull's start timeout (`origin.relay.streamList`):
 *
 * - `upstream`: every upstream with an HTTP base is asked for its relay list
 *   (`GET /api/relay/streams`, {@link RelayStreamListing}) every `streamListIntervalMs`. Each
 *   entry carries its path (the node ids from where it is published to the node answering), so
 *   a cascade of any depth lists what its top has, and a node never learns back what it told
 *   (it sends its id; the answer leaves out entries whose path holds it: split horizon).
 * - `store`: the shared store's stream directory (every origin's announced streams).
 * - `off`: nothing is known; every request tries a pull.
 *
 * A miss is checked once more against a list at most {@link MIN_REFRESH_MS} old before it is a
 * 404 (a stream published a moment ago is found), and a list that could not be read for
 * {@link STALE_INTERVALS} intervals is unknown again (the pull is tried).
 *
 * @module
 */

import { isSafeName } from "../http/app.ts";
import type { Logger } from "../log.ts";
import type { StreamDirectory } from "../../store/mod.ts";
import { servesApp, type Upstream } from "./upstream.ts";
import {
  chainParams,
  MAX_RELAY_CHAIN,
  RELAY_NODE_ID_RE,
  RELAY_SECRET_HEADER,
} from "./wire.ts";

/** The path of the relay list on every origin's HTTP port. */
export const RELAY_LIST_PATH = "/api/relay/streams";
/**
 * A miss is re-checked against a list fetched at most this long ago (ms): a stream published
 * earlier than this is found at once; a flood of requests for unknown names costs at most one
 * list request per upstream per this interval.
 */
export const MIN_REFRESH_MS = 100;
/** A list not refreshed for this many intervals no longer counts. */
export const STALE_INTERVALS = 3;
/** Most streams taken from one list (a bigger answer is cut, and logged). */
export const MAX_LISTED_STREAMS = 10_000;
/** Most bytes of one list answer. */
export const MAX_LIST_BYTES = 4 * 1024 * 1024;
/** A list request gets this long (ms). */
export const LIST_TIMEOUT_MS = 2_000;

/** One stream of a relay list and the nodes it passed. */
export interface ListedStream {
  readonly app: string;
  readonly name: string;
  /** Node ids from where it is published to the node that answered, in that order. */
  readonly path: readonly string[];
}

/** The answer of `GET /api/relay/streams`. */
export interface RelayStreamListing {
  readonly nodeId: string;
  readonly streams: readonly ListedStream[];
}

/** Options of {@link UpstreamStreamList}: the `origin.relay` keys it reads. */
export interface StreamListOptions {
  readonly mode: "upstream" | "store" | "off";
  readonly intervalMs: number;
  readonly secret: string;
  readonly nodeId: string;
}

/** What {@link UpstreamStreamList} uses. */
export interface StreamListDeps {
  readonly log: Logger;
  /** The shared store's directory (mode `store`). */
  readonly directory?: StreamDirectory | undefined;
  /** This node's own listing id in the directory (left out of what it learns). */
  readonly ownOriginId?: () => string | undefined;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Source {
  readonly upstream: Upstream | undefined;
  streams: Map<string, ListedStream>;
  okAtMs: number;
  failing: boolean;
  inFlight: Promise<void> | undefined;
}

/**
 * Parses a relay list answer, keeping only well-formed entries.
 *
 * @example
 * ```ts
 * import { parseListing } from "./stream_list.ts";
 * const l = parseListing({ nodeId: "up", streams: [{ app: "live", name: "a", path: ["up"] }, { app: "../x" }] });
 * if (l?.streams.length !== 1) throw new Error("kept the bad entry");
 * ```
 */
export function parseListing(body: unknown): RelayStreamListing | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as { nodeId?: unknown; streams?: unknown };
  if (typeof b.nodeId !== "string" || !Array.isArray(b.streams)) {
    return undefined;
  }
  const streams: ListedStream[] = [];
  for (const s of b.streams.slice(0, MAX_LISTED_STREAMS)) {
    const e = s as { app?: unknown; name?: unknown; path?: unknown };
    if (
      typeof e.app !== "string" || typeof e.name !== "string" ||
      !isSafeName(e.app) || !isSafeName(e.name) || !Array.isArray(e.path) ||
      e.path.length > MAX_RELAY_CHAIN ||
      !e.path.every((id) => typeof id === "string" && RELAY_NODE_ID_RE.test(id))
    ) continue;
    streams.push({ app: e.app, name: e.name, path: e.path as string[] });
  }
  return { nodeId: b.nodeId, streams };
}

/** Reads a body of at most {@link MAX_LIST_BYTES} as JSON. */
async function boundedJson(res: Response): Promise<unknown> {
  const reader = res.body?.getReader();
  if (!reader) return undefined;
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      n += r.value.byteLength;
      if (n > MAX_LIST_BYTES) {
        throw new Error(`list answer over ${MAX_LIST_BYTES} bytes`);
      }
      parts.push(r.value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return JSON.parse(new TextDecoder().decode(all));
}

/** The streams that exist upstream (see the module notes). */
export class UpstreamStreamList {
  readonly #o: StreamListOptions;
  readonly #deps: StreamListDeps;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  readonly #sources: Source[];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(
    upstreams: readonly Upstream[],
    options: StreamListOptions,
    deps: StreamListDeps,
  ) {
    this.#o = options;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#fetch = deps.fetch ?? globalThis.fetch;
    const fresh = () => ({
      streams: new Map<string, ListedStream>(),
      okAtMs: -Infinity,
      failing: false,
      inFlight: undefined,
    });
    this.#sources = options.mode === "upstream"
      ? upstreams.filter((u) => u.apiUrl !== "").map((u) => ({
        upstream: u,
        ...fresh(),
      }))
      : options.mode === "store" && deps.directory
      ? [{ upstream: undefined, ...fresh() }]
      : [];
  }

  /** Starts polling (a first refresh at once). */
  start(): void {
    if (this.#sources.length === 0) return;
    const tick = async () => {
      await this.refresh();
      if (!this.#closed) {
        this.#timer = setTimeout(tick, this.#o.intervalMs);
      }
    };
    void tick();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  /** Refreshes every source now (each at most once at a time). */
  async refresh(): Promise<void> {
    await Promise.all(this.#sources.map((s) => this.#refreshSource(s)));
  }

  /** Refreshes the sources older than `ageMs`. */
  async refreshIfOlderThan(ageMs: number): Promise<void> {
    const now = this.#now();
    await Promise.all(
      this.#sources.filter((s) => now - s.okAtMs > ageMs).map((s) =>
        this.#refreshSource(s)
      ),
    );
  }

  #fresh(s: Source): boolean {
    return this.#now() - s.okAtMs <= this.#o.intervalMs * STALE_INTERVALS;
  }

  /** The sources that may list a stream of `app`. */
  #sourcesFor(app: string, upstreams: readonly Upstream[]): Source[] {
    if (this.#o.mode === "store") return this.#sources;
    return this.#sources.filter((s) =>
      s.upstream !== undefined && upstreams.includes(s.upstream) &&
      servesApp(s.upstream, app)
    );
  }

  /**
   * Whether `app/name` is live upstream: true (listed), false (every upstream serving the app
   * has a fresh list without it, also after a re-check), or undefined (some have no list: try
   * the pull).
   *
   * @param upstreams The upstreams that serve `app`.
   */
  async has(
    app: string,
    name: string,
    upstreams: readonly Upstream[],
  ): Promise<boolean | undefined> {
    if (this.#o.mode === "off") return undefined;
    const key = `${app}/${name}`;
    const sources = this.#sourcesFor(app, upstreams);
    const judge = (): boolean | undefined => {
      if (sources.some((s) => this.#fresh(s) && s.streams.has(key))) {
        return true;
      }
      if (this.#o.mode === "upstream") {
        // An upstream without a list (no HTTP base) may have it.
        const listed = new Set(sources.map((s) => s.upstream));
        if (upstreams.some((u) => !listed.has(u))) return undefined;
      }
      if (sources.length === 0 || sources.some((s) => !this.#fresh(s))) {
        return undefined;
      }
      return false;
    };
    const first = judge();
    if (first !== false) return first;
    // Published a moment ago? One look at a list at most MIN_REFRESH_MS old decides.
    const now = this.#now();
    await Promise.all(
      sources.filter((s) => now - s.okAtMs > MIN_REFRESH_MS).map((s) =>
        this.#refreshSource(s)
      ),
    );
    return judge();
  }

  /**
   * What this node tells a downstream it has learned: entries not through `exclude` (the
   * asker's chain) nor through this node.
   */
  learned(exclude: ReadonlySet<string>): ListedStream[] {
    const best = new Map<string, ListedStream>();
    for (const s of this.#sources) {
      if (!this.#fresh(s)) continue;
      for (const [key, e] of s.streams) {
        if (e.path.includes(this.#o.nodeId)) continue;
        if (e.path.some((id) => exclude.has(id))) continue;
        const had = best.get(key);
        if (!had || had.path.length > e.path.length) best.set(key, e);
      }
    }
    return [...best.values()];
  }

  #refreshSource(s: Source): Promise<void> {
    s.inFlight ??= (async () => {
      try {
        s.streams = s.upstream === undefined
          ? await this.#readDirectory()
          : await this.#readUpstream(s.upstream);
        s.okAtMs = this.#now();
        if (s.failing) {
          s.failing = false;
          this.#deps.log.info("relay stream list readable again", {
            upstream: s.upstream?.apiUrl ?? "store",
          });
        }
      } catch (e) {
        if (!s.failing) {
          s.failing = true;
          this.#deps.log.warn("relay stream list unreadable", {
            upstream: s.upstream?.apiUrl ?? "store",
            error: e instanceof Error ? e.message : String(e),
          });
        }
      } finally {
        s.inFlight = undefined;
      }
    })();
    return s.inFlight;
  }

  async #readUpstream(u: Upstream): Promise<Map<string, ListedStream>> {
    const query = new URLSearchParams(
      chainParams({ hops: 1, via: [this.#o.nodeId] }),
    );
    const res = await this.#fetch(`${u.apiUrl}${RELAY_LIST_PATH}?${query}`, {
      headers: this.#o.secret === ""
        ? {}
        : { [RELAY_SECRET_HEADER]: this.#o.secret },
      signal: AbortSignal.timeout(LIST_TIMEOUT_MS),
      redirect: "manual",
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`status ${res.status}`);
    }
    const listing = parseListing(await boundedJson(res));
    if (!listing) throw new Error("not a relay stream list");
    const out = new Map<string, ListedStream>();
    for (const e of listing.streams) out.set(`${e.app}/${e.name}`, e);
    return out;
  }

  async #readDirectory(): Promise<Map<string, ListedStream>> {
    const out = new Map<string, ListedStream>();
    for (const l of await this.#deps.directory!.list(this.#now())) {
      if (l.originId === this.#deps.ownOriginId?.()) continue;
      for (const s of l.streams) {
        // A relayed stream is listed where it is published; a relay's copy can outlive it.
        if (s.protocol === "relay") continue;
        out.set(`${s.app}/${s.name}`, {
          app: s.app,
          name: s.name,
          path: [],
        });
      }
    }
    return out;
  }
}
