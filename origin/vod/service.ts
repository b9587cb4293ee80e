/**
 * The VOD HTTP face: library files as progressive MP4/FLV (byte ranges, seek by time), HLS
 * playlists and segments, thumbnails, and the library listing (`/api/vod`).
 *
 * URLs (../shared/INTERFACES.md): under a library prefix (default `/vod/`), `{path}.mp4`,
 * `{path}.flv` and `{path}.m3u8` with `{path}` the file's path in the library, its extension
 * given or not (`/vod/demo.flv.m3u8` and `/vod/demo.m3u8` are the same playlist, and
 * `/vod/demo.mp4` is `demo.flv` as MP4 when there is no `demo.mp4`); segments at
 * `{file path}/{n}.ts` (a path below a file cannot name another file); `{path}.jpg?t=S`.
 *
 * @module
 */

import {
  type ByteRange,
  ifRangeAllows,
  isNotModified,
  parseRange,
  pulledResponse,
} from "../../net/mod.ts";
import type { Logger } from "../log.ts";
import {
  pieceBody,
  type PieceSource,
  pieceStream,
  simpleSource,
} from "./body.ts";
import { VodError, VodErrorCode } from "./errors.ts";
import { planSegments, vodPlaylist, vodSegment } from "./hls.ts";
import {
  checkRelPath,
  extensionOf,
  Library,
  type LibraryConfig,
  type LibraryFile,
  MEDIA_EXTENSIONS,
} from "./library.ts";
import { MediaCache, type MediaFile } from "./media_file.ts";
import { describeMedia, type VodFileInfo } from "./metadata.ts";
import { flvSource, mp4Source, type TimeRange } from "./outputs.ts";
import { Thumbnailer } from "./thumbnail.ts";
import { renderTrickPlayVtt, TrickPlay } from "./trick_play.ts";

/** The `origin.vod` config section. */
export interface VodConfig {
  readonly libraries: readonly LibraryConfig[];
  /** HLS VOD segments are cut at the keyframe nearest after this many seconds. */
  readonly hlsSegmentSeconds: number;
  /** Bytes of file indexes kept in memory (least recently used beyond it are dropped). */
  readonly indexCacheBytes: number;
  /** `Cache-Control: max-age` of VOD responses (a replaced file is re-read after it). */
  readonly maxAgeSeconds: number;
  /** The ffmpeg used for thumbnails; "" = `ffmpeg` on PATH. */
  readonly ffmpegPath: string;
  /** Seconds between trick-play thumbnails, at least. @default 10 */
  readonly trickPlayIntervalSeconds?: number;
}

/** What the VOD service needs from the origin. */
export interface VodDeps {
  readonly log: Logger;
  /**
   * The node's data directory: trick-play sprites are kept in `${dataDir}/trickplay`.
   * Without it `.vtt` and `.sprite.jpg` answer 501.
   */
  readonly dataDir?: string | undefined;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  mp4: "video/mp4",
  mov: "video/quicktime",
  m4v: "video/mp4",
  m4a: "audio/mp4",
  f4v: "video/mp4",
  flv: "video/x-flv",
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
  jpg: "image/jpeg",
  vtt: "text/vtt; charset=utf-8",
};

/** Largest `start`/`end`/`t` accepted (seconds): a week. */
const MAX_SECONDS = 7 * 24 * 3600;

/** Counters the origin exposes in /metrics. */
export interface VodStats {
  requests: Record<string, number>;
  errors: Record<string, number>;
  bytesOut: number;
}

/** The VOD library service. */
/** A transcode job's master playlist in its output folder (origin/transcode/jobs.ts). */
const MASTER_PLAYLIST_NAME = "master.m3u8";

export class VodService {
  readonly #libraries: Library[];
  readonly #config: VodConfig;
  readonly #log: Logger;
  readonly #cache: MediaCache;
  readonly #thumbs: Thumbnailer;
  readonly #trick: TrickPlay;
  readonly stats: VodStats = { requests: {}, errors: {}, bytesOut: 0 };

  constructor(config: VodConfig, deps: VodDeps) {
    this.#config = config;
    this.#log = deps.log;
    this.#libraries = config.libraries.map((l) => new Library(l));
    this.#cache = new MediaCache(config.indexCacheBytes);
    this.#thumbs = new Thumbnailer(config.ffmpegPath || "ffmpeg");
    this.#trick = new TrickPlay(
      config.ffmpegPath || "ffmpeg",
      deps.dataDir === undefined ? undefined : `${deps.dataDir}/trickplay`,
      config.trickPlayIntervalSeconds ?? 10,
    );
  }

  /** Stops trick-play jobs still running (shutdown). */
  close(): Promise<void> {
    return this.#trick.close();
  }

  /** Indexes in memory now, and their bytes. */
  get cacheStats(): { files: number; bytes: number } {
    return { files: this.#cache.size, bytes: this.#cache.bytes };
  }

  /** The mounted libraries, in config order. */
  get libraries(): readonly Library[] {
    return this.#libraries;
  }

  /** The library prefixes (for routing). */
  get prefixes(): string[] {
    return this.#libraries.map((l) => l.prefix);
  }

  /**
   * The file a request names and the access scope of it: the app (the prefix's first segment,
   * `vod` for `/vod/`), the session path every URL of the file lies under
   * (`/vod/{file path}/`: the playlist, its segments and the progressive outputs alike, checked
   * as "path + /"), and the canonical playlist path a new session is sent to. Undefined when
   * the request names no file (the handler then answers it).
   */
  async scope(
    pathname: string,
  ): Promise<{ app: string; stream: string; sessionPath: string } | undefined> {
    const lib = this.#libraries.find((l) => pathname.startsWith(l.prefix));
    if (!lib) return undefined;
    const rest = pathname.slice(lib.prefix.length);
    let file: LibraryFile | undefined;
    try {
      const pkg = await this.#static(lib, rest);
      if (pkg) {
        // An HLS package: a clip's playlist and its folder of segments are one scope; a
        // transcode job's master covers its whole folder (the variants and their segments).
        const dir = pkg.relPath.slice(0, pkg.relPath.lastIndexOf("/"));
        const key = pkg.relPath.endsWith("/" + MASTER_PLAYLIST_NAME)
          ? dir
          : pkg.relPath.endsWith(".m3u8")
          ? pkg.relPath.slice(0, -".m3u8".length)
          : dir;
        const [app, ...inner] = lib.prefix.slice(1, -1).split("/");
        const stream = [...inner, ...key.split("/").map(encodeURIComponent)]
          .join("/");
        return { app: app!, stream, sessionPath: `/${app}/${stream}/` };
      }
      const seg = /^(.+)\/(\d{1,7})\.ts$/.exec(rest);
      const trick = trickTarget(rest);
      if (seg) file = await this.#file(lib, checkRelPath(seg[1]!));
      else if (trick) {
        file = await this.#source(lib, checkRelPath(trick.rel), trick.target);
      } else {
        const ext = extensionOf(rest);
        const target =
          ext === "m3u8" || ext === "jpg" || ext in MEDIA_EXTENSIONS
            ? ext
            : undefined;
        if (target) file = await this.#source(lib, checkRelPath(rest), target);
      }
    } catch {
      return undefined;
    }
    if (!file) return undefined;
    const [app, ...inner] = lib.prefix.slice(1, -1).split("/");
    const stream = [
      ...inner,
      ...file.relPath.split("/").map(encodeURIComponent),
    ]
      .join("/");
    return { app: app!, stream, sessionPath: `/${app}/${stream}/` };
  }

  /** True when `app` names a library (its prefix's first segment, `vod` for `/vod/`). */
  ownsApp(app: string): boolean {
    return this.#libraries.some((l) => l.prefix.split("/")[1] === app);
  }

  /**
   * The library file an RTMP play names: `mp4:movies/a.mp4`, `movies/a.mp4` or `movies/a` (the
   * extension found as for HTTP), under the library whose app is `app`, indexed.
   *
   * @returns `undefined` when no such file exists (or the name is not a safe path).
   * @throws {VodError} When the file is not valid media.
   */
  async rtmpMedia(app: string, name: string): Promise<MediaFile | undefined> {
    const lib = this.#libraries.find((l) => l.prefix.split("/")[1] === app);
    if (!lib) return undefined;
    // Flash players name the container: `mp4:` (and `flv:`) before the file (FMS syntax).
    const bare = name.replace(/^(mp4|flv|f4v|mov):/i, "");
    // The rest of the prefix (a library at /media/films/ plays as app `media`, `films/x.mp4`).
    const inner = lib.prefix.split("/").slice(2, -1).join("/");
    let rel: string;
    try {
      rel = checkRelPath(encodeURIComponent(bare).replace(/%2F/gi, "/"));
    } catch {
      return undefined;
    }
    if (inner) {
      if (!rel.startsWith(`${inner}/`)) return undefined;
      rel = rel.slice(inner.length + 1);
    }
    const ext = extensionOf(rel);
    let file: LibraryFile | undefined;
    if (ext in MEDIA_EXTENSIONS) file = await this.#file(lib, rel);
    else {
      for (const e of ["mp4", "flv", "mov", "m4v", "f4v"]) {
        file = await this.#file(lib, `${rel}.${e}`);
        if (file) break;
      }
    }
    if (!file) return undefined;
    this.stats.requests.rtmp = (this.stats.requests.rtmp ?? 0) + 1;
    return await this.#cache.get(file);
  }

  /**
   * The indexed file at `path` in any library (its path in the library, as the listing names
   * it), or `undefined` when no library has it.
   *
   * @throws {VodError} `VOD_BAD_PATH` for a path that is not safe, `VOD_BAD_MEDIA` (or
   *   another code) when the file is not valid media.
   */
  async mediaFile(path: string): Promise<MediaFile | undefined> {
    const rel = checkRelPath(path.split("/").map(encodeURIComponent).join("/"));
    for (const lib of this.#libraries) {
      const f = await this.#file(lib, rel);
      if (f) return await this.#cache.get(f);
    }
    return undefined;
  }

  /** True when `pathname` lies under a library prefix. */
  owns(pathname: string): boolean {
    return this.#libraries.some((l) => pathname.startsWith(l.prefix));
  }

  /**
   * Answers a GET or HEAD under a library prefix. Never throws. Ready-made HLS files in a
   * library (a clip's package, a transcode job's ABR set) are served as they are; only when
   * there is none is a name one of a media file's outputs.
   */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const kind = extensionOf(url.pathname) || "none";
    this.stats.requests[kind] = (this.stats.requests[kind] ?? 0) + 1;
    try {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return json({ error: "Method not allowed" }, 405, {
          Allow: "GET, HEAD",
        });
      }
      return await this.#route(request, url);
    } catch (e) {
      return this.#error(e, url.pathname);
    }
  }

  /** `GET /api/vod`: every file of every library with its metadata. */
  async listing(): Promise<Response> {
    const files: VodFileInfo[] = [];
    for (const lib of this.#libraries) {
      for (const f of await lib.list()) {
        try {
          files.push(describeMedia(await this.#cache.get(f)));
        } catch (e) {
          files.push({
            path: f.relPath,
            url: urlOf(f),
            size: f.size,
            mtime: new Date(f.mtimeMs).toISOString(),
            error: e instanceof Error ? e.message : String(e),
          });
        }
      }
    }
    return json({ files });
  }

  /** `GET /api/vod/{path}`: one file's metadata. */
  async describe(encodedPath: string): Promise<Response> {
    try {
      const rel = checkRelPath(encodedPath);
      for (const lib of this.#libraries) {
        const f = await lib.stat(rel);
        if (f) return json(describeMedia(await this.#cache.get(f)));
      }
      throw notFound(rel);
    } catch (e) {
      return this.#error(e, encodedPath);
    }
  }

  async #route(request: Request, url: URL): Promise<Response> {
    const lib = this.#libraries.find((l) => url.pathname.startsWith(l.prefix))!;
    const rest = url.pathname.slice(lib.prefix.length);
    const pkg = await this.#static(lib, rest);
    if (pkg) return await this.#sendStatic(request, pkg, url.searchParams);
    const seg = /^(.+)\/(\d{1,7})\.ts$/.exec(rest);
    if (seg) {
      const file = await this.#file(lib, checkRelPath(seg[1]!));
      if (!file) throw notFound(seg[1]!);
      return await this.#segment(request, file, Number(seg[2]));
    }
    const trick = trickTarget(rest);
    if (trick) {
      const rel = checkRelPath(trick.rel);
      const file = await this.#source(lib, rel, trick.target);
      if (!file) throw notFound(rel);
      return await this.#trickPlay(file, trick.target, url.searchParams);
    }
    const ext = extensionOf(rest);
    const target = ext === "m3u8" || ext === "jpg" || ext in MEDIA_EXTENSIONS
      ? ext
      : undefined;
    if (!target) throw notFound(rest);
    const rel = checkRelPath(rest);
    const file = await this.#source(lib, rel, target);
    if (!file) throw notFound(rel);
    const q = url.searchParams;
    if (target === "jpg") return await this.#thumbnail(file, q);
    const media = await this.#cache.get(file);
    if (target === "m3u8") return this.#playlist(request, file, media, rel, q);
    const range = timeRange(q);
    const sourceContainer = MEDIA_EXTENSIONS[extensionOf(file.relPath)]!;
    const out = target === "flv" ? "flv" : "mp4";
    let source: PieceSource;
    let variant = "";
    if (
      !range && out === sourceContainer && extensionOf(file.relPath) === target
    ) {
      // The file as it is, unless an MP4 keeps its moov at the end: browsers would have to
      // fetch the end first, so it goes out moov first (faststart on the fly).
      if (out === "mp4" && media.moovAtStart === false && !media.fragmented) {
        source = mp4Source(media, undefined);
        variant = "faststart";
      } else source = simpleSource([[0, file.size]]);
    } else if (out === "mp4") {
      source = mp4Source(media, range);
      variant = `mp4-${rangeKey(range)}`;
    } else {
      source = flvSource(
        media,
        range ?? { startSeconds: 0, endSeconds: undefined, accurate: false },
      );
      variant = `flv-${rangeKey(range)}`;
    }
    return this.#send(request, file, source, CONTENT_TYPES[target]!, variant);
  }

  /**
   * A static HLS file of the library (the playlist or a segment of an HLS package, as clips
   * are written), or `undefined` when the path names none (then it is a derived output).
   */
  async #static(lib: Library, rest: string): Promise<LibraryFile | undefined> {
    const ext = extensionOf(rest);
    if (ext !== "m3u8" && ext !== "ts") return undefined;
    let rel: string;
    try {
      rel = checkRelPath(rest);
    } catch {
      return undefined;
    }
    return await lib.stat(rel);
  }

  /** A static HLS file as it is (a playlist's URIs carry the session credential, if any). */
  async #sendStatic(
    request: Request,
    file: LibraryFile,
    q: URLSearchParams,
  ): Promise<Response> {
    const ext = extensionOf(file.relPath);
    const { etag, lastModified } = this.#validators(file, "static");
    const headers: Record<string, string> = {
      "Content-Type": CONTENT_TYPES[ext]!,
      ETag: etag,
      "Last-Modified": lastModified,
      "Cache-Control": `public, max-age=${this.#config.maxAgeSeconds}`,
      "Access-Control-Allow-Origin": "*",
    };
    if (isNotModified(request.headers, etag, lastModified)) {
      return new Response(null, { status: 304, headers });
    }
    if (ext === "m3u8") {
      let text = await Deno.readTextFile(file.realPath);
      const cred = q.get("cred");
      if (cred !== null) {
        const enc = encodeURIComponent(cred);
        text = text.split("\n").map((l) =>
          l === "" || l.startsWith("#")
            ? l
            : `${l}${l.includes("?") ? "&" : "?"}cred=${enc}`
        ).join("\n");
      }
      return new Response(request.method === "HEAD" ? null : text, { headers });
    }
    this.stats.bytesOut += file.size;
    return this.#send(
      request,
      file,
      simpleSource([[0, file.size]]),
      headers["Content-Type"]!,
      "static",
    );
  }

  /** The file a request names: itself, its path without the output extension, or a sibling. */
  async #source(
    lib: Library,
    rel: string,
    target: string,
  ): Promise<LibraryFile | undefined> {
    const candidates: string[] = [];
    if (target in MEDIA_EXTENSIONS) candidates.push(rel);
    const base = rel.slice(0, rel.length - target.length - 1);
    if (base && extensionOf(base) in MEDIA_EXTENSIONS) candidates.push(base);
    if (base && !(extensionOf(base) in MEDIA_EXTENSIONS)) {
      for (const e of ["mp4", "flv", "mov", "m4v", "f4v"]) {
        candidates.push(`${base}.${e}`);
      }
    }
    for (const c of candidates) {
      const f = await this.#file(lib, c);
      if (f) return f;
    }
    return undefined;
  }

  async #file(lib: Library, rel: string): Promise<LibraryFile | undefined> {
    if (!(extensionOf(rel) in MEDIA_EXTENSIONS)) return undefined;
    return await lib.stat(rel);
  }

  #validators(
    file: LibraryFile,
    variant: string,
  ): { etag: string; lastModified: string } {
    const v = variant ? `-${variant}` : "";
    return {
      etag: `"${file.size.toString(16)}-${
        Math.floor(file.mtimeMs).toString(16)
      }${v}"`,
      lastModified: new Date(Math.floor(file.mtimeMs / 1000) * 1000)
        .toUTCString(),
    };
  }

  #send(
    request: Request,
    file: LibraryFile,
    source: PieceSource,
    contentType: string,
    variant: string,
  ): Response {
    const { etag, lastModified } = this.#validators(file, variant);
    const headers: Record<string, string> = {
      "Content-Type": contentType,
      "Accept-Ranges": "bytes",
      ETag: etag,
      "Last-Modified": lastModified,
      "Cache-Control": `public, max-age=${this.#config.maxAgeSeconds}`,
      "Access-Control-Allow-Origin": "*",
    };
    if (isNotModified(request.headers, etag, lastModified)) {
      return new Response(null, { status: 304, headers });
    }
    let range: ByteRange | "unsatisfiable" | undefined;
    if (ifRangeAllows(request.headers, etag, lastModified)) {
      range = parseRange(request.headers.get("range"), source.size);
    }
    if (range === "unsatisfiable") {
      return new Response(null, {
        status: 416,
        headers: { ...headers, "Content-Range": `bytes */${source.size}` },
      });
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? source.size - 1;
    headers["Content-Length"] = String(Math.max(0, end - start + 1));
    if (range) {
      headers["Content-Range"] = `bytes ${start}-${end}/${source.size}`;
    }
    const status = range ? 206 : 200;
    if (request.method === "HEAD" || source.size === 0) {
      return new Response(null, { status, headers });
    }
    this.stats.bytesOut += end - start + 1;
    const onError = (e: unknown) =>
      this.#log.warn("vod read failed", {
        path: file.relPath,
        error: e instanceof Error ? e.message : String(e),
      });
    // Meridian's HTTP/1.1 server pulls the body with its buffers reused; the stream is for
    // Deno.serve (`origin.httpServer: deno`) and is never started otherwise.
    return pulledResponse(
      new Response(
        pieceStream(file.realPath, source, start, end, onError),
        { status, headers },
      ),
      pieceBody(file.realPath, source, start, end, onError),
    );
  }

  #playlist(
    request: Request,
    file: LibraryFile,
    media: MediaFile,
    rel: string,
    q: URLSearchParams,
  ): Response {
    const segments = planSegments(media, this.#config.hlsSegmentSeconds * 1000);
    const start = q.has("start") ? seconds(q, "start") : undefined;
    // Segments live below the file's own path; relative to the playlist's folder.
    const name = file.relPath.slice(file.relPath.lastIndexOf("/") + 1);
    const dirOfPlaylist = rel.slice(0, rel.lastIndexOf("/") + 1);
    const dirOfFile = file.relPath.slice(0, file.relPath.lastIndexOf("/") + 1);
    const base = dirOfPlaylist === dirOfFile
      ? `${encodeURIComponent(name)}/`
      : `/${file.library.prefix.replace(/^\/|\/$/g, "")}/${
        file.relPath.split("/").map(encodeURIComponent).join("/")
      }/`;
    const carried = new URLSearchParams();
    for (const k of ["cred"]) {
      const v = q.get(k);
      if (v !== null) carried.set(k, v);
    }
    const query = carried.size ? `?${carried}` : "";
    const text = vodPlaylist(segments, base, query, start);
    const { etag, lastModified } = this.#validators(
      file,
      `m3u8-${start ?? ""}`,
    );
    const headers = {
      "Content-Type": CONTENT_TYPES.m3u8!,
      ETag: etag,
      "Last-Modified": lastModified,
      "Cache-Control": `public, max-age=${this.#config.maxAgeSeconds}`,
      "Access-Control-Allow-Origin": "*",
    };
    if (isNotModified(request.headers, etag, lastModified)) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(request.method === "HEAD" ? null : text, { headers });
  }

  async #segment(
    request: Request,
    file: LibraryFile,
    n: number,
  ): Promise<Response> {
    const media = await this.#cache.get(file);
    const segments = planSegments(media, this.#config.hlsSegmentSeconds * 1000);
    const f = await Deno.open(file.realPath, { read: true });
    let bytes: Uint8Array;
    try {
      bytes = await vodSegment(media, segments, n, async (offset, length) => {
        const out = new Uint8Array(length);
        await f.seek(offset, Deno.SeekMode.Start);
        let got = 0;
        while (got < length) {
          const r = await f.read(out.subarray(got));
          if (r === null) {
            throw new VodError(
              VodErrorCode.Io,
              "Cannot read segment: file cut short",
            );
          }
          got += r;
        }
        return out;
      });
    } finally {
      f.close();
    }
    const { etag, lastModified } = this.#validators(file, `ts${n}`);
    const headers = {
      "Content-Type": CONTENT_TYPES.ts!,
      ETag: etag,
      "Last-Modified": lastModified,
      "Cache-Control": `public, max-age=${this.#config.maxAgeSeconds}`,
      "Access-Control-Allow-Origin": "*",
    };
    if (isNotModified(request.headers, etag, lastModified)) {
      return new Response(null, { status: 304, headers });
    }
    this.stats.bytesOut += bytes.byteLength;
    return new Response(
      request.method === "HEAD" ? null : bytes as Uint8Array<ArrayBuffer>,
      {
        headers: { ...headers, "Content-Length": String(bytes.byteLength) },
      },
    );
  }

  async #thumbnail(file: LibraryFile, q: URLSearchParams): Promise<Response> {
    const t = q.has("t") ? seconds(q, "t") : 0;
    const jpeg = await this.#thumbs.frameAt(file.realPath, t);
    return new Response(jpeg as Uint8Array<ArrayBuffer>, {
      headers: {
        "Content-Type": "image/jpeg",
        "Cache-Control": `public, max-age=${this.#config.maxAgeSeconds}`,
        "Access-Control-Allow-Origin": "*",
      },
    });
  }

  /**
   * `{path}.vtt` (the WebVTT track) or `{path}.sprite.jpg` (the sprite) of a file: 200 when
   * made, else 202 with the job's progress while it is made (the player asks again).
   */
  async #trickPlay(
    file: LibraryFile,
    target: "vtt" | "sprite",
    q: URLSearchParams,
  ): Promise<Response> {
    const media = await this.#cache.get(file);
    const info = describeMedia(media);
    const state = await this.#trick.state({
      realPath: file.realPath,
      size: file.size,
      mtimeMs: file.mtimeMs,
      durationSeconds: info.durationSeconds ?? 0,
      width: info.video?.width,
      height: info.video?.height,
    });
    if (state.kind === "failed") throw state.error;
    if (state.kind !== "ready") {
      const busy = state.kind === "busy";
      return json(
        {
          state: state.kind,
          percent: state.kind === "running" ? state.percent : 0,
        },
        busy ? 503 : 202,
        { "Cache-Control": "no-store", "Retry-After": busy ? "10" : "2" },
      );
    }
    const headers = {
      "Cache-Control": `public, max-age=${this.#config.maxAgeSeconds}`,
      "Access-Control-Allow-Origin": "*",
    };
    if (target === "sprite") {
      return new Response(await Deno.readFile(state.sprite), {
        headers: { ...headers, "Content-Type": "image/jpeg" },
      });
    }
    // Relative to the track's own URL; a session credential goes along as on playlists.
    const name = file.relPath.slice(file.relPath.lastIndexOf("/") + 1);
    const cred = q.get("cred");
    const sprite = `${encodeURIComponent(name)}.sprite.jpg${
      cred === null ? "" : `?cred=${encodeURIComponent(cred)}`
    }`;
    return new Response(renderTrickPlayVtt(state.layout, sprite), {
      headers: { ...headers, "Content-Type": "text/vtt; charset=utf-8" },
    });
  }

  #error(e: unknown, path: string): Response {
    const err = e instanceof VodError
      ? e
      : new VodError(VodErrorCode.Io, "Cannot serve the file", { cause: e });
    this.stats.errors[err.code] = (this.stats.errors[err.code] ?? 0) + 1;
    const context = {
      path: path.slice(0, 256),
      status: err.status,
      code: err.code,
      error: err.message,
      cause: err.cause instanceof Error ? err.cause.message : undefined,
    };
    if (err.status >= 500) this.#log.error("vod request failed", context);
    else this.#log.info("vod request refused", context);
    return json({ error: err.message, code: err.code }, err.status);
  }
}

/**
 * The trick-play target a path names: `{path}.vtt` or `{path}.sprite.jpg`, `rel` ending in
 * `.{target}` as `#source` wants it.
 */
function trickTarget(
  rest: string,
): { rel: string; target: "vtt" | "sprite" } | undefined {
  if (rest.endsWith(".vtt")) return { rel: rest, target: "vtt" };
  if (rest.endsWith(".sprite.jpg")) {
    return { rel: rest.slice(0, -".jpg".length), target: "sprite" };
  }
  return undefined;
}

function notFound(path: string): VodError {
  return new VodError(
    VodErrorCode.NotFound,
    `Cannot find '${path.slice(0, 256)}' in the library`,
  );
}

function urlOf(f: LibraryFile): string {
  return f.library.prefix +
    f.relPath.split("/").map(encodeURIComponent).join("/");
}

/** A seconds query value: a finite number 0..a week. */
function seconds(q: URLSearchParams, key: string): number {
  const raw = q.get(key) ?? "";
  const v = Number(raw);
  if (raw === "" || !Number.isFinite(v) || v < 0 || v > MAX_SECONDS) {
    throw new VodError(
      VodErrorCode.BadRequest,
      `Cannot read '${key}': got '${
        raw.slice(0, 32)
      }', expected seconds 0..${MAX_SECONDS}`,
    );
  }
  return v;
}

/** `start`/`end`/`accurate` of a query, or undefined when none is given. */
function timeRange(q: URLSearchParams): TimeRange | undefined {
  if (!q.has("start") && !q.has("end")) return undefined;
  const startSeconds = q.has("start") ? seconds(q, "start") : 0;
  const endSeconds = q.has("end") ? seconds(q, "end") : undefined;
  if (endSeconds !== undefined && endSeconds <= startSeconds) {
    throw new VodError(
      VodErrorCode.BadRequest,
      `Cannot serve a range that ends (${endSeconds} s) at or before its start (${startSeconds} s)`,
    );
  }
  const acc = q.get("accurate");
  return { startSeconds, endSeconds, accurate: acc === "1" || acc === "true" };
}

function rangeKey(r: TimeRange | undefined): string {
  return r
    ? `${r.startSeconds}-${r.endSeconds ?? ""}-${r.accurate ? 1 : 0}`
    : "all";
}

function json(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Access-Control-Allow-Origin": "*",
      ...headers,
    },
  });
}

export type { LibraryFile };

/** The VOD service's counters in /metrics. */
export function registerVodMetrics(
  metrics: {
    collect(
      name: string,
      help: string,
      type: "counter" | "gauge",
      fn: () => Iterable<[Record<string, string> | undefined, number]>,
    ): void;
  },
  vod: VodService,
): void {
  metrics.collect(
    "meridian_vod_requests_total",
    "VOD requests by output (mp4, flv, m3u8, ts, jpg)",
    "counter",
    () =>
      Object.entries(vod.stats.requests).map(([k, v]) => [{ output: k }, v]),
  );
  metrics.collect(
    "meridian_vod_errors_total",
    "VOD requests refused or failed, by code",
    "counter",
    () => Object.entries(vod.stats.errors).map(([k, v]) => [{ code: k }, v]),
  );
  metrics.collect(
    "meridian_vod_sent_bytes_total",
    "VOD body bytes sent (as planned when the response started)",
    "counter",
    () => [[undefined, vod.stats.bytesOut]],
  );
  metrics.collect(
    "meridian_vod_index_cache_bytes",
    "Bytes of file indexes held in memory",
    "gauge",
    () => [[undefined, vod.cacheStats.bytes]],
  );
}
