/**
 * Cost of one token spend (`spendTokenUse`, the one store round trip a playback start pays)
 * on each shared-store backend: Deno KV on a local file (an atomic check-and-set) and Redis 7
 * on loopback (one Lua script over TCP). Redis is started here when /usr/bin/redis-server
 * exists, and killed when the bench ends.
 *
 * Run: `deno bench -A bench/store_spend_bench.ts`
 *
 * @module
 */

import { KvStore, type SharedStore } from "../store/mod.ts";
import { openRedisStore } from "../store/redis/mod.ts";

const REDIS_SERVER = "/usr/bin/redis-server";
/** Spends per bench: small, this is a figure, not a load run. */
const SPENDS = 2000;

const dir = await Deno.makeTempDir({ prefix: "meridian_bench_" });
const now = Date.now();

async function unlimitedToken(
  store: SharedStore,
  token: string,
): Promise<void> {
  await store.createToken({
    token,
    app: null,
    createdAtMs: now,
    expiresAtMs: now + 3600_000,
    maxUses: 0,
  });
}

const kv = await KvStore.open(`${dir}/bench.kv`, { watch: false });
await unlimitedToken(kv, "BENCHKV000000001");

let redis: SharedStore | undefined;
let server: Deno.ChildProcess | undefined;
try {
  Deno.statSync(REDIS_SERVER);
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  server = new Deno.Command(REDIS_SERVER, {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 500; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  redis = await openRedisStore(`redis://127.0.0.1:${port}`);
  await unlimitedToken(redis, "BENCHREDIS000001");
} catch (err) {
  console.log(
    `Redis bench skipped: ${err instanceof Error ? err.message : err}`,
  );
}

globalThis.addEventListener("unload", () => {
  server?.kill("SIGKILL");
  Deno.removeSync(dir, { recursive: true });
});

Deno.bench({
  name: "spendTokenUse: Deno KV (local file)",
  group: "token spend",
  baseline: true,
  n: SPENDS,
  async fn() {
    await kv.spendTokenUse("BENCHKV000000001", now + 1);
  },
});

Deno.bench({
  name: "spendTokenUse: Redis 7 (loopback, Lua script)",
  group: "token spend",
  n: SPENDS,
  ignore: redis === undefined,
  async fn() {
    await redis!.spendTokenUse("BENCHREDIS000001", now + 1);
  },
});
