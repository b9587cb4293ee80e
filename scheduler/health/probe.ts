/**
 * Health probes: one attempt against one edge, resolving on success and throwing on failure.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** A failed health check, naming the target. */
export class HealthCheckError extends CodedError<"HEALTH_CHECK"> {
  override name = "HealthCheckError";
  constructor(readonly target: string, reason: string, options?: ErrorOptions) {
    super(
      "HEALTH_CHECK",
      `Health check of ${target} failed: ${reason}`,
      options,
    );
  }
}

/** One check attempt. */
export type HealthProbe = (target: string, timeoutMs: number) => Promise<void>;

/** An HTTP probe owning its connection pool (closed by `close`). A 2xx answer is healthy. */
export interface HttpProbe {
  readonly probe: HealthProbe;
  close(): void;
}

/** Creates an HTTP GET probe; the body is discarded. */
export function createHttpProbe(): HttpProbe {
  const client = Deno.createHttpClient({});
  return {
    async probe(target, timeoutMs) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutMs);
      try {
        const res = await fetch(target, {
          client,
          signal: ac.signal,
          redirect: "manual",
        });
        await res.body?.cancel();
        if (res.status < 200 || res.status > 299) {
          throw new HealthCheckError(target, `HTTP ${res.status}`);
        }
      } catch (cause) {
        if (cause instanceof HealthCheckError) throw cause;
        throw new HealthCheckError(
          target,
          ac.signal.aborted ? `no answer in ${timeoutMs} ms` : String(cause),
          {
            cause,
          },
        );
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => client.close(),
  };
}

/** A TCP probe: `host:port` (or `[v6]:port`) must accept a connection. */
export const tcpProbe: HealthProbe = async (target, timeoutMs) => {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
  if (!m) throw new HealthCheckError(target, "expected host:port");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = Deno.connect({ hostname: m[1]!, port: Number(m[2]) });
  try {
    const conn = await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new HealthCheckError(target, `no connection in ${timeoutMs} ms`),
            ),
          timeoutMs,
        );
      }),
    ]);
    conn.close();
  } catch (cause) {
    connecting.then((c) => c.close(), () => {});
    if (cause instanceof HealthCheckError) throw cause;
    throw new HealthCheckError(target, String(cause), { cause });
  } finally {
    clearTimeout(timer);
  }
};
