/**
 * Admin API routes of the control port (mounted below `/admin`, behind the bearer gate):
 *
 * - `GET /admin/tokens`, `POST /admin/tokens` `{app, duration, limit}`, `DELETE /admin/tokens/{token}`
 * - `POST /admin/purge` `{urls, prefixes, streams, all}`: published on the store's feed, which
 *   every edge sharing the store applies
 * - `POST /admin/prefetch`: published on the shared feed; every edge warms the paths
 * - `GET /admin/edges`, `POST|DELETE /admin/edges/{id}/drain`: the edge registry (`store.edges`)
 * - `GET /admin/streams`: every origin's live streams (the store's stream directory)
 * (`GET /admin/config` and the console's other routes live in ./settings.ts, ./overview.ts,
 * ./origin_proxy.ts and ./scheduler_view.ts.)
 *
 * @module
 */

import type { ControlMetrics } from "./metrics.ts";
import { type Context, Hono } from "hono";

/** Largest number of paths in one prefetch. */
export const MAX_PREFETCH_URLS = 1_000;
import type { Logger } from "../log/mod.ts";
import {
  combineHealthViews,
  type EdgeLoad,
  type OriginListing,
  type RegistrySnapshot,
  type SharedStore,
  streamKey,
  type TokenState,
} from "../store/mod.ts";

const verdict = (up: boolean | undefined): "up" | "down" | "unknown" =>
  up === undefined ? "unknown" : up ? "up" : "down";
import {
  clientAddress,
  NO_STORE,
  readJsonBody,
  textError,
} from "../net/http/respond.ts";
import {
  checkAppName,
  MAX_TOKEN_DURATION_SECONDS,
  MAX_TOKEN_USES,
  type MintSpec,
  mintToken,
} from "./gettoken.ts";
import { parsePurgeRequest, type PurgeRequest } from "../cluster/mod.ts";
import type { BitrateSampler } from "./bitrate.ts";
import type { ControlEnv } from "./console_auth.ts";
import { isTokenFormat } from "../access/mod.ts";

/** A token as the admin API shows it. The admin sees token values: they are theirs to manage. */
export interface AdminTokenView {
  /** The token value. */
  readonly token: string;
  /** `null`: every app. */
  readonly app: string | null;
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601; the token stops working at this instant. */
  readonly expiresAt: string;
  /** 0: unlimited. */
  readonly maxUses: number;
  /** Uses spent so far. */
  readonly usesSpent: number;
  /** `null` for unlimited tokens. */
  readonly usesLeft: number | null;
  /** `expired` wins over `used_up` when both hold. */
  readonly state: "active" | "expired" | "used_up";
}

/** What the admin routes need. */
export interface AdminDeps {
  readonly store: SharedStore;
  readonly log: Logger;
  /** Unix ms. */
  readonly clock: () => number;
  /** Lifetime of a token minted by `POST /admin/tokens` without `duration` (`control.defaultTokenDurationSeconds`). */
  readonly defaultTokenDurationSeconds: number;
  /** Uses of a token minted without `limit`, 0 unlimited (`control.defaultTokenUses`). */
  readonly defaultTokenUses: number;
  /** Bit rates of live streams from successive listings. */
  readonly sampler?: BitrateSampler;
  /** The access rule of an app (shown with each stream). */
  readonly accessOf?: (app: string) => "open" | "token";
  /** The steered DNS name's base URL when a scheduler is configured. */
  readonly dnsUrl?: () => string | undefined;
  /** Tokens minted and revoked. */
  readonly counters?: ControlMetrics;
}

/** An edge as `GET /admin/edges` shows it: its record, drain flag and combined health. */
export interface AdminEdgeView {
  readonly id: string;
  readonly region: string;
  readonly address: string;
  readonly address6: string;
  readonly baseUrl: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly capacityBps: number;
  readonly capacityViewers: number;
  readonly heartbeatSeconds: number;
  /** ISO 8601. */
  readonly registeredAt: string;
  /** ISO 8601 of the last heartbeat. */
  readonly updatedAt: string;
  readonly load: EdgeLoad;
  readonly draining: boolean;
  /** ISO 8601, or `null` when not draining. */
  readonly drainingSince: string | null;
  /** The schedulers' views combined (`combineHealthViews` of the store); `unknown` without any. */
  readonly health: "up" | "down" | "unknown";
  readonly healthViews: readonly {
    readonly schedulerId: string;
    readonly up: boolean;
    readonly lastError: string;
    readonly reportedAt: string;
  }[];
}

/** A live stream as `GET /admin/streams` shows it: one entry per origin carrying it. */
export interface AdminStreamView {
  /** `app/name`. */
  readonly key: string;
  readonly app: string;
  readonly name: string;
  readonly originId: string;
  readonly startedAt: string;
  readonly viewers: number;
  /** Viewers on the origin by protocol (`flv`, `rtmp`). */
  readonly viewersByProtocol: Readonly<Record<string, number>>;
  /** Live viewers on each edge (by edge id), from the streams the edges' heartbeats carry. */
  readonly edgeViewers: Readonly<Record<string, number>>;
  readonly bytesIn: number;
  /** Ingest bit rate between the origin's last two announcements; `null` until there are two. */
  readonly bitrateBps: number | null;
  /** When the origin counted `bytesIn` (ISO 8601). */
  readonly sampledAt: string;
  readonly codecs: { readonly video?: string; readonly audio?: string };
  readonly protocol: string;
  /** Peer address and the encoder its metadata names ("" when unknown). */
  readonly publisher: { readonly address: string; readonly software: string };
  /** Picture size and frame rate from the metadata (0 when unknown). */
  readonly video: {
    readonly width: number;
    readonly height: number;
    readonly fps: number;
  };
  /** Who may play the app: anyone, or `?token=` holders. */
  readonly access: "open" | "token";
  /** Absolute URLs on the origin; `edge`/`scheduler` when such nodes are known. */
  readonly urls: {
    readonly flv: string;
    readonly hls: string;
    readonly rtmp: string;
    /** The origin's stream list with this stream picked (kept from before `/play/`). */
    readonly player: string;
    /** The origin's player page. */
    readonly play: string;
    /** Through an edge (the first registered). */
    readonly edge?: {
      readonly flv: string;
      readonly hls: string;
      readonly play: string;
    };
    /** Through the scheduler's HTTP 302 (it answers with the best edge). */
    readonly scheduler?: { readonly flv: string; readonly hls: string };
    /** Through the scheduler's steered DNS name (`live.meridian.test`) on the edges' port. */
    readonly dns?: {
      readonly flv: string;
      readonly hls: string;
      readonly play: string;
    };
  };
}

/** What `toAdminStreams` adds to the directory's entries. */
export interface StreamViewContext {
  /** Bit rates from successive byte counts. */
  readonly sampler?: BitrateSampler;
  readonly nowMs?: number;
  /** The app's access rule (`origin.apps`, `origin.defaultApp`, `auth.enabled`). */
  readonly accessOf?: (app: string) => "open" | "token";
  /** An edge's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly edgeUrl?: string;
  /** The scheduler's HTTP URL, e.g. `http://127.0.0.1:8070`. */
  readonly schedulerUrl?: string;
  /** The steered DNS name's base URL, e.g. `http://live.meridian.test:8080`. */
  readonly dnsUrl?: string;
  /** Edges' loads (their `streams` viewers per stream). */
  readonly edges?: readonly { readonly id: string; readonly load: EdgeLoad }[];
}

/** Edge ids as the registry takes them. */
const EDGE_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const MINT_FIELDS = ["app", "duration", "limit"];

const iso = (ms: number) => new Date(ms).toISOString();

/** Shapes the registry for the admin API. */
export function toAdminEdges(
  snap: RegistrySnapshot,
): { edges: AdminEdgeView[]; drainedOffline: { id: string; since: string }[] } {
  const edges = snap.edges.map((e): AdminEdgeView => {
    const views = snap.health.filter((v) => v.edgeId === e.id);
    const since = snap.drains.get(e.id);
    return {
      id: e.id,
      region: e.region,
      address: e.address,
      address6: e.address6,
      baseUrl: e.baseUrl,
      latitude: e.latitude,
      longitude: e.longitude,
      capacityBps: e.capacityBps,
      capacityViewers: e.capacityViewers,
      heartbeatSeconds: e.heartbeatSeconds,
      registeredAt: iso(e.registeredAtMs),
      updatedAt: iso(e.updatedAtMs),
      load: e.load,
      draining: since !== undefined,
      drainingSince: since === undefined ? null : iso(since),
      health: verdict(combineHealthViews(views)),
      healthViews: views.map((v) => ({
        schedulerId: v.schedulerId,
        up: v.up,
        lastError: v.lastError,
        reportedAt: iso(v.reportedAtMs),
      })),
    };
  });
  const live = new Set(snap.edges.map((e) => e.id));
  const drainedOffline = [...snap.drains].filter(([id]) => !live.has(id))
    .map(([id, since]) => ({ id, since: iso(since) }))
    .sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return { edges, drainedOffline };
}

/** Merges every origin's listing into one list, sorted by stream key then origin id. */
export function toAdminStreams(
  listings: readonly OriginListing[],
  ctx: StreamViewContext = {},
): AdminStreamView[] {
  const out: AdminStreamView[] = [];
  const now = ctx.nowMs ?? Date.now();
  for (const l of listings) {
    for (const s of l.streams) {
      const path = `${encodeURIComponent(s.app)}/${encodeURIComponent(s.name)}`;
      const bps = ctx.sampler?.observe(
        `${l.originId}\0${s.app}/${s.name}`,
        s.bytesIn,
        l.updatedAtMs,
        now,
      );
      out.push({
        key: `${s.app}/${s.name}`,
        app: s.app,
        name: s.name,
        originId: l.originId,
        startedAt: s.startedAt,
        viewers: s.viewers,
        viewersByProtocol: s.viewersByProtocol ?? {},
        edgeViewers: Object.fromEntries(
          (ctx.edges ?? []).flatMap((e) => {
            const key = streamKey(s.app, s.name);
            const n = e.load.streams?.find((x) => x.key === key)?.viewers;
            return n ? [[e.id, n]] : [];
          }),
        ),
        bytesIn: s.bytesIn,
        bitrateBps: bps ?? null,
        sampledAt: iso(l.updatedAtMs),
        codecs: s.codecs,
        protocol: s.protocol,
        publisher: s.publisher ?? { address: "", software: "" },
        video: s.video ?? { width: 0, height: 0, fps: 0 },
        access: ctx.accessOf?.(s.app) ?? "open",
        urls: {
          flv: `${l.httpUrl}/${path}.flv`,
          hls: `${l.httpUrl}/${path}.m3u8`,
          rtmp: `${l.rtmpUrl}/${path}`,
          player: `${l.httpUrl}/?stream=${path}`,
          play: `${l.httpUrl}/play/${path}`,
          ...(ctx.edgeUrl
            ? {
              edge: {
                flv: `${ctx.edgeUrl}/${path}.flv`,
                hls: `${ctx.edgeUrl}/${path}.m3u8`,
                play: `${ctx.edgeUrl}/play/${path}`,
              },
            }
            : {}),
          ...(ctx.schedulerUrl
            ? {
              scheduler: {
                flv: `${ctx.schedulerUrl}/${path}.flv`,
                hls: `${ctx.schedulerUrl}/${path}.m3u8`,
              },
            }
            : {}),
          ...(ctx.dnsUrl
            ? {
              dns: {
                flv: `${ctx.dnsUrl}/${path}.flv`,
                hls: `${ctx.dnsUrl}/${path}.m3u8`,
                play: `${ctx.dnsUrl}/play/${path}`,
              },
            }
            : {}),
        },
      });
    }
  }
  return out.sort((a, b) =>
    a.key === b.key
      ? (a.originId < b.originId ? -1 : a.originId > b.originId ? 1 : 0)
      : a.key < b.key
      ? -1
      : 1
  );
}

function intField(
  v: unknown,
  name: string,
  fallback: number,
  min: number,
  max: number,
  unit: string,
): number | string {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    return `Invalid ${name}: got ${
      JSON.stringify(v)?.slice(0, 32)
    }, expected an integer ${min}..${max} (${unit})`;
  }
  return v;
}

/** Validates a `POST /admin/tokens` body into what to mint, or a 400 message. */
export function parseMintBody(
  body: unknown,
  defaults: { durationSeconds: number; maxUses: number },
): MintSpec | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "Invalid token request: expected a JSON object";
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).find((k) => !MINT_FIELDS.includes(k));
  if (unknown !== undefined) {
    return `Invalid token request: unknown field ${
      JSON.stringify(unknown.slice(0, 64))
    }, expected app, duration or limit`;
  }
  let app: string | null = null;
  if (typeof b.app === "string" && b.app !== "") {
    const bad = checkAppName(b.app);
    if (bad !== undefined) return bad;
    app = b.app;
  } else if (b.app !== undefined && b.app !== null && b.app !== "") {
    return `Invalid app: got ${
      JSON.stringify(b.app)?.slice(0, 32)
    }, expected a name of [A-Za-z0-9_.-] (omit app for every app)`;
  }
  const duration = intField(
    b.duration,
    "duration",
    defaults.durationSeconds,
    1,
    MAX_TOKEN_DURATION_SECONDS,
    "seconds",
  );
  if (typeof duration === "string") return duration;
  const limit = intField(
    b.limit,
    "limit",
    defaults.maxUses,
    0,
    MAX_TOKEN_USES,
    "uses, 0 for unlimited",
  );
  if (typeof limit === "string") return limit;
  return { app, durationSeconds: duration, maxUses: limit };
}

/** Shapes a stored token for the admin API at time `nowMs`. */
export function toAdminView(s: TokenState, nowMs: number): AdminTokenView {
  const usesLeft = s.maxUses === 0
    ? null
    : Math.max(0, s.maxUses - s.usesSpent);
  return {
    token: s.token,
    app: s.app,
    createdAt: new Date(s.createdAtMs).toISOString(),
    expiresAt: new Date(s.expiresAtMs).toISOString(),
    maxUses: s.maxUses,
    usesSpent: s.usesSpent,
    usesLeft,
    state: nowMs >= s.expiresAtMs
      ? "expired"
      : usesLeft === 0
      ? "used_up"
      : "active",
  };
}

/** A token value as the viewer role sees it: enough to tell tokens apart, not to use one. */
export function maskToken(token: string): string {
  return `${token.slice(0, 4)}${"•".repeat(Math.max(0, token.length - 4))}`;
}

/**
 * Creates the admin routes, relative to `/admin`. Authentication is the caller's gate, which
 * sets the principal (./console_auth.ts); a viewer sees token values masked.
 */
export function createAdminApp(deps: AdminDeps): Hono<ControlEnv> {
  const { store, log, clock } = deps;
  const app = new Hono<ControlEnv>();

  app.get("/tokens", async (c) => {
    const now = clock();
    const viewer = c.get("principal")?.role === "viewer";
    const tokens = (await store.listTokens())
      .sort((a, b) => a.createdAtMs - b.createdAtMs)
      .map((t) => {
        const v = toAdminView(t, now);
        return viewer ? { ...v, token: maskToken(v.token) } : v;
      });
    return c.json({ tokens }, 200, NO_STORE);
  });

  app.delete("/tokens/:token", async (c) => {
    const token = c.req.param("token");
    // Not token-shaped: cannot be one of ours, and needs no store round trip.
    if (!isTokenFormat(token) || !await store.revokeToken(token, clock())) {
      return textError(c, 404, "Token not found");
    }
    deps.counters?.revoked();
    log.info("token revoked", { client: clientAddress(c) });
    return c.body(null, 204);
  });

  app.post("/tokens", async (c) => {
    const body = await readJsonBody(c);
    if (!body.ok) return body.response;
    const spec = parseMintBody(body.value, {
      durationSeconds: deps.defaultTokenDurationSeconds,
      maxUses: deps.defaultTokenUses,
    });
    if (typeof spec === "string") return textError(c, 400, spec);
    const now = clock();
    const record = await mintToken(store, spec, now);
    deps.counters?.minted("admin");
    log.info("token minted", {
      app: spec.app ?? "*",
      durationSeconds: spec.durationSeconds,
      maxUses: spec.maxUses,
      client: clientAddress(c),
      via: "admin",
    });
    return c.json(
      { token: toAdminView({ ...record, usesSpent: 0 }, now) },
      201,
      NO_STORE,
    );
  });

  app.post("/purge", async (c) => {
    const body = await readJsonBody(c);
    if (!body.ok) return body.response;
    let purge: PurgeRequest;
    try {
      purge = parsePurgeRequest(body.value);
    } catch (e) {
      return textError(c, 400, e instanceof Error ? e.message : String(e));
    }
    // No sourceId: edges read it as coming from the control role and all apply it.
    await store.publish({ kind: "purge", ...purge, publishedAtMs: Date.now() });
    log.info("purge published", {
      urls: purge.urls.length,
      prefixes: purge.prefixes.length,
      streams: purge.streams.length,
      all: purge.all,
      client: clientAddress(c),
    });
    return c.json(
      {
        published: true,
        urls: purge.urls.length,
        prefixes: purge.prefixes.length,
        streams: purge.streams.length,
        all: purge.all,
      },
      200,
      NO_STORE,
    );
  });

  // A prefetch is published on the shared feed: every edge sharing the store warms the paths.
  app.post("/prefetch", async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return textError(
        c,
        400,
        "Invalid prefetch request: expected a JSON body",
      );
    }
    const urls = (body as { urls?: unknown } | null)?.urls;
    const problem = !Array.isArray(urls)
      ? "'urls' must be a list of paths"
      : urls.length === 0 || urls.length > MAX_PREFETCH_URLS
      ? `'urls' must hold 1..${MAX_PREFETCH_URLS} paths, got ${urls.length}`
      : urls.find((u) =>
          typeof u !== "string" || !u.startsWith("/") || u.length > 2048
        ) !== undefined
      ? "every entry of 'urls' must be a path starting with / (at most 2048 characters)"
      : undefined;
    if (problem) {
      return textError(c, 400, `Invalid prefetch request: ${problem}`);
    }
    await store.publish({ kind: "prefetch", urls: urls as string[] });
    log.info("prefetch published", {
      urls: (urls as string[]).length,
      client: clientAddress(c),
    });
    return c.json({ accepted: (urls as string[]).length }, 202, NO_STORE);
  });

  app.get("/edges", async (c) => {
    const snap = await store.edges.snapshot(clock());
    return c.json(toAdminEdges(snap), 200, NO_STORE);
  });

  const drain = (draining: boolean) => async (c: Context<ControlEnv>) => {
    const id = c.req.param("id") ?? "";
    if (!EDGE_ID_RE.test(id)) {
      return textError(
        c,
        400,
        `Invalid edge id: got ${
          JSON.stringify(id.slice(0, 64))
        }, expected 1..64 characters of [A-Za-z0-9_.-]`,
      );
    }
    const now = clock();
    const snap = await store.edges.snapshot(now);
    const known = snap.edges.some((e) => e.id === id) ||
      (!draining && snap.drains.has(id));
    if (!known) return textError(c, 404, `Unknown edge: ${id}`);
    // The same flag the scheduler's /api/edges/{id}/drain sets; schedulers see it on the feed.
    await store.edges.setDraining(id, draining, now);
    log.info(draining ? "edge drained" : "edge undrained", {
      edge: id,
      client: clientAddress(c),
    });
    return c.json({ id, draining }, 200, NO_STORE);
  };
  app.post("/edges/:id/drain", drain(true));
  app.delete("/edges/:id/drain", drain(false));

  app.get("/streams", async (c) => {
    const now = clock();
    const [listings, nodes, edges] = await Promise.all([
      store.streams.list(now),
      store.nodes.list(now),
      store.edges.snapshot(now),
    ]);
    const schedulerUrl = nodes.map((n) => n.endpoints["scheduler.http"]).find(
      Boolean,
    );
    const edgeUrl = edges.edges[0]?.baseUrl ||
      nodes.map((n) => n.endpoints["edge.http"]).find(Boolean);
    return c.json(
      {
        streams: toAdminStreams(listings, {
          nowMs: now,
          ...(deps.sampler ? { sampler: deps.sampler } : {}),
          ...(deps.accessOf ? { accessOf: deps.accessOf } : {}),
          ...(edgeUrl ? { edgeUrl } : {}),
          ...(schedulerUrl ? { schedulerUrl } : {}),
          ...(schedulerUrl && deps.dnsUrl?.()
            ? { dnsUrl: deps.dnsUrl()! }
            : {}),
          edges: edges.edges,
        }),
        origins: listings.map((l) => ({
          originId: l.originId,
          httpUrl: l.httpUrl,
          rtmpUrl: l.rtmpUrl,
          streams: l.streams.length,
          omitted: l.omitted,
          updatedAt: iso(l.updatedAtMs),
        })),
      },
      200,
      NO_STORE,
    );
  });

  return app;
}
