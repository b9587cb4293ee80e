/**
 * The shared-store contract suite against Redis: a fresh redis-server per case, two stores on
 * it standing for two nodes (each with its own two connections).
 *
 * @module
 */

import { openRedisStore } from "../../../store/redis/mod.ts";
import { runSharedStoreContract } from "../contract.ts";
import { REDIS_SKIP, RedisServer } from "./_redis_server.ts";

runSharedStoreContract("RedisStore", {
  ...(REDIS_SKIP ? { skip: REDIS_SKIP } : {}),
  async setup() {
    const server = await RedisServer.start();
    return {
      open: () => openRedisStore(server.url),
      cleanup: () => server.stop(),
    };
  },
});
