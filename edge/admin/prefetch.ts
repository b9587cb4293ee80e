/**
 * `POST /admin/prefetch`: warm this edge with a list of URLs.
 *
 * @module
 */

import { EdgeError, EdgeErrorCode } from "../errors.ts";

/** Largest number of URLs in one prefetch request. */
export const MAX_PREFETCH_URLS = 1_000;
/** Fetches run at most this many at a time, so a big list cannot flood the origins. */
export const PREFETCH_CONCURRENCY = 8;

/** The outcome for one URL. */
export interface PrefetchResult {
  readonly url: string;
  readonly status: number;
  readonly cacheStatus: string;
}

/**
 * Validates a prefetch body `{"urls": [...]}` into paths.
 * @throws {EdgeError} `EDGE_BAD_ADMIN_REQUEST`.
 */
export function parsePrefetchRequest(body: unknown): string[] {
  const urls = (body as { urls?: unknown } | null)?.urls;
  if (!Array.isArray(urls) || urls.some((u) => typeof u !== "string")) {
    throw new EdgeError(
      EdgeErrorCode.BadAdminRequest,
      "Invalid prefetch request 'urls': expected a list of strings",
    );
  }
  if (urls.length > MAX_PREFETCH_URLS) {
    throw new EdgeError(
      EdgeErrorCode.BadAdminRequest,
      `Invalid prefetch request 'urls': at most ${MAX_PREFETCH_URLS}, got ${urls.length}`,
    );
  }
  return urls as string[];
}

/**
 * Fetches every URL through `fetchOne`, a few at a time.
 *
 * @example
 * ```ts
 * import { prefetchAll } from "./prefetch.ts";
 * const r = await prefetchAll(["/a", "/b"], (u) => Promise.resolve({ status: 200, cacheStatus: u.pathname }));
 * if (r[1]!.cacheStatus !== "/b") throw new Error("order");
 * ```
 */
export async function prefetchAll(
  urls: readonly string[],
  fetchOne: (url: URL) => Promise<{ status: number; cacheStatus: string }>,
): Promise<PrefetchResult[]> {
  const results: PrefetchResult[] = new Array(urls.length);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      const u = urls[i]!;
      try {
        const url = new URL(u, "http://edge.invalid");
        results[i] = { url: u, ...(await fetchOne(url)) };
      } catch (e) {
        results[i] = {
          url: u,
          status: 0,
          cacheStatus: `error: ${e instanceof Error ? e.message : String(e)}`,
        };
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(PREFETCH_CONCURRENCY, urls.length) }, worker),
  );
  return results;
}
