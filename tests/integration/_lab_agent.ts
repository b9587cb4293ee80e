/**
 * The lab test's hands inside a namespace: `ip netns exec mlab-client-eu deno run -A
 * tests/integration/_lab_agent.ts` reads one JSON command a line on stdin and answers one JSON
 * line on stdout, so the test (in the host's namespace, which has no route into the lab) can
 * make HTTP requests, read live streams and time token spends from where a viewer is.
 *
 * Commands (`{id, op, …}`; the answer carries the same `id`):
 * - `fetch` `{url, method?, headers?, body?, timeoutMs?}` → `{status, headers, text, ms}`
 *   (the body read up to 64 KiB, then let go);
 * - `fetchMany` `{urls, headers?, timeoutMs?}` → `{statuses}`: all at once, each body's first
 *   chunk read (a live stream started), then let go;
 * - `flvArrivals` `{urls, ms}` → `{arrivals: [[ts, atMs], …] per URL}`: video tags of each
 *   HTTP-FLV stream as they arrive during `ms`, on this process's one clock;
 * - `spendBench` `{redisUrl, n}` → `{p50, p99, mean}`: `n` token spends against Redis, in ms.
 *
 * @module
 */
import { FlvReader } from "../../codec/flv/mod.ts";

interface Command {
  readonly id: number;
  readonly op: string;
  readonly [k: string]: unknown;
}

const MAX_BODY = 64 * 1024;

async function doFetch(c: Command) {
  const t0 = performance.now();
  const res = await fetch(c.url as string, {
    method: (c.method as string | undefined) ?? "GET",
    headers: (c.headers as Record<string, string> | undefined) ?? {},
    body: c.body as string | undefined,
    signal: AbortSignal.timeout((c.timeoutMs as number | undefined) ?? 10_000),
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => headers[k] = v);
  const reader = res.body?.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    while (reader && n < MAX_BODY) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      n += r.value.byteLength;
    }
  } finally {
    await reader?.cancel().catch(() => {});
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return {
    status: res.status,
    headers,
    text: new TextDecoder().decode(all.subarray(0, MAX_BODY)),
    ms: performance.now() - t0,
  };
}

async function fetchMany(c: Command) {
  const statuses = await Promise.all((c.urls as string[]).map(async (url) => {
    try {
      const res = await fetch(url, {
        headers: (c.headers as Record<string, string> | undefined) ?? {},
        signal: AbortSignal.timeout(
          (c.timeoutMs as number | undefined) ?? 10_000,
        ),
      });
      const reader = res.body?.getReader();
      await reader?.read();
      await reader?.cancel().catch(() => {});
      return res.status;
    } catch {
      return 0;
    }
  }));
  return { statuses };
}

async function flvArrivals(c: Command) {
  const ms = c.ms as number;
  const arrivals = await Promise.all((c.urls as string[]).map(async (url) => {
    const out: [number, number][] = [];
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), ms);
    try {
      const res = await fetch(url, { signal: ac.signal });
      const reader = res.body!.getReader();
      const flv = new FlvReader();
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        const now = performance.now();
        flv.push(r.value.slice());
        for (const t of flv.pullAll()) {
          if (t.type === 9 && t.data[1] === 1) out.push([t.timestampMs, now]);
        }
      }
    } catch {
      // the window ended
    } finally {
      clearTimeout(timer);
    }
    return out;
  }));
  return { arrivals };
}

async function spendBench(c: Command) {
  const { openRedisStore } = await import("../../store/redis/mod.ts");
  const store = await openRedisStore(c.redisUrl as string);
  const n = c.n as number;
  const token = `LAB${crypto.randomUUID().replaceAll("-", "").slice(0, 13)}`;
  const now = Date.now();
  try {
    await store.createToken({
      token,
      app: null,
      createdAtMs: now,
      expiresAtMs: now + 600_000,
      maxUses: 0,
    });
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = await store.spendTokenUse(token, Date.now());
      times.push(performance.now() - t0);
      if (!r.ok) throw new Error(`spend ${i} refused: ${r.reason}`);
    }
    times.sort((a, b) => a - b);
    const at = (p: number) => times[Math.min(n - 1, Math.floor(p * n))]!;
    return {
      p50: at(0.5),
      p99: at(0.99),
      mean: times.reduce((a, b) => a + b, 0) / n,
    };
  } finally {
    await store.close();
  }
}

const OPS: Record<string, (c: Command) => Promise<unknown>> = {
  fetch: doFetch,
  fetchMany,
  flvArrivals,
  spendBench,
};

const encoder = new TextEncoder();
const answer = (o: unknown) => {
  const bytes = encoder.encode(JSON.stringify(o) + "\n");
  for (let off = 0; off < bytes.byteLength;) {
    off += Deno.stdout.writeSync(bytes.subarray(off));
  }
};
answer({ id: 0, ready: true });

let buffered = "";
for await (
  const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
) {
  buffered += chunk;
  let nl: number;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (line.trim() === "") continue;
    const c = JSON.parse(line) as Command;
    const op = OPS[c.op];
    (op ? op(c) : Promise.reject(new Error(`unknown op ${c.op}`))).then(
      (result) => answer({ id: c.id, ok: true, result }),
      (e) => answer({ id: c.id, ok: false, error: String(e) }),
    );
  }
}
