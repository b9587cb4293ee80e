/**
 * Admin API routes of the control port (mounted below `/admin`, behind the bearer gate):
 *
 * - `GET /admin/tokens`, `POST /admin/tokens` `{app, duration, limit}`, `DELETE /admin/tokens/{token}`
 * - `POST /admin/purge` `{urls, prefixes, streams, all}`: published on the store's feed, which
 *   every edge sharing the store applies
 * - `POST /admin/prefetch`: published on the shared feed; every edge warms the paths
 * - `GET /admin/edges`, `POST|DELETE /admin/edges/{id}/drain`: the edge registry (`store.edges`)
 * - `GET /admin/streams`: every origin's live streams (the store's stream directory)
 * - `GET /admin/config`: the running config, secrets redacted
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
import { redactConfig } from "./config_view.ts";
import {
  checkAppName,
  MAX_TOKEN_DURATION_SECONDS,
  MAX_TOKEN_USES,
  type MintSpec,
  mintToken,
} from "./gettoken.ts";
import { parsePurgeRequest, type PurgeRequest } from "../cluster/mod.ts";
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
  /**
   * The whole running config, shown redacted by `GET /admin/config`; without it that route
   * answers 501.
   */
  readonly config?: unknown;
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
  readonly bytesIn: number;
  readonly codecs: { readonly video?: string; readonly audio?: string };
  readonly protocol: string;
  /** Absolute URLs on the origin. */
  readonly urls: {
    readonly flv: string;
    readonly hls: string;
    readonly rtmp: string;
    readonly player: string;
  };
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
): AdminStreamView[] {
  const out: AdminStreamView[] = [];
  for (const l of listings) {
    for (const s of l.streams) {
      const path = `${encodeURIComponent(s.app)}/${encodeURIComponent(s.name)}`;
      out.push({
        key: `${s.app}/${s.name}`,
        app: s.app,
        name: s.name,
        originId: l.originId,
        startedAt: s.startedAt,
        viewers: s.viewers,
        bytesIn: s.bytesIn,
        codecs: s.codecs,
        protocol: s.protocol,
        urls: {
          flv: `${l.httpUrl}/${path}.flv`,
          hls: `${l.httpUrl}/${path}.m3u8`,
          rtmp: `${l.rtmpUrl}/${path}`,
          player: `${l.httpUrl}/?stream=${path}`,
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

/** Creates the admin routes, relative to `/admin`. Authentication is the caller's gate. */
export function createAdminApp(deps: AdminDeps): Hono {
  const { store, log, clock } = deps;
  const app = new Hono();

  app.get("/tokens", async (c) => {
    const now = clock();
    const tokens = (await store.listTokens())
      .sort((a, b) => a.createdAtMs - b.createdAtMs)
      .map((t) => toAdminView(t, now));
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

  const drain = (draining: boolean) => async (c: Context) => {
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
    const listings = await store.streams.list(clock());
    return c.json(
      {
        streams: toAdminStreams(listings),
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

  app.get("/config", (c) => {
    if (deps.config === undefined) {
      return textError(
        c,
        501,
        "Not available: this control role was started without the full config",
      );
    }
    return c.json({ config: redactConfig(deps.config) }, 200, NO_STORE);
  });

  return app;
}
