/**
 * Upstream health as real traffic moves it: a real edge (port 0) in front of a real origin,
 * driven by fetch. Viewers choose the URLs, so no run of 5xx answers, slow answers or broken
 * connections of their choosing may take an origin down; only its health endpoint can.
 */
import assert from "node:assert/strict";
import {
  edgeConfig,
  startTestEdge,
  startTestOrigin,
} from "../_helpers/fixtures.ts";

/** Polls `cond` every 20 ms until it holds or `ms` pass. */
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A raw-socket origin: `/healthz` and `/ok` answer 200; any other path gets its connection
 * closed without an answer (the origin "breaks" on URLs the viewer picks).
 */
function startBreakingOrigin() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const served = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      void (async () => {
        try {
          const buf = new Uint8Array(16384);
          const n = await conn.read(buf);
          if (n === null) return;
          const line = new TextDecoder().decode(buf.subarray(0, n)).split(" ");
          if (line[1] === "/healthz" || line[1] === "/ok") {
            await conn.write(
              new TextEncoder().encode(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
              ),
            );
          }
        } catch {
          // the edge went away
        } finally {
          conns.delete(conn);
          conn.close();
        }
      })();
    }
  })();
  let closed = false;
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async close() {
      if (closed) return;
      closed = true;
      listener.close();
      for (const c of conns) c.close();
      await served.catch(() => {});
    },
  };
}

Deno.test("UpstreamClient: 5xx answers on URLs a viewer picks never take a healthy origin down", async () => {
  const origin = startTestOrigin((_req, url) =>
    new Response("boom", {
      status: Number(url.pathname.split("/")[2]) || 200,
    })
  );
  const edge = await startTestEdge(edgeConfig([origin.url]), {
    healthChecks: false,
  });
  const id = origin.url;
  try {
    for (let i = 0; i < 30; i++) {
      const status = [500, 502, 503, 504, 599][i % 5]!;
      const r = await fetch(
        `http://127.0.0.1:${edge.port}/boom/${status}/${i}`,
      );
      await r.body?.cancel();
      assert.equal(r.status, status);
    }
    await edge.health.settled();
    assert.equal(edge.health.isUp(id), true, "still up after 30 chosen 5xx");
    assert.equal(edge.health.weightFactor(id), 1);
    const ok = await fetch(`http://127.0.0.1:${edge.port}/fine`);
    assert.equal(await ok.text(), "boom");
    const metrics = await (await fetch(`http://127.0.0.1:${edge.port}/metrics`))
      .text();
    assert.match(
      metrics,
      new RegExp(`meridian_edge_origin_up\\{origin="${id}"\\} 1`),
    );
    assert.match(
      metrics,
      new RegExp(
        `meridian_edge_origin_requests_total\\{origin="${id}",outcome="5xx"\\} 30`,
      ),
      "the 5xx are still counted",
    );
  } finally {
    await edge.close();
    await origin.close();
  }
});

Deno.test("UpstreamClient: connections an origin breaks on chosen URLs do not take it down; a refused one does", async () => {
  const origin = startBreakingOrigin();
  const edge = await startTestEdge(edgeConfig([origin.url]), {
    healthChecks: false,
  });
  try {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`http://127.0.0.1:${edge.port}/breaks/${i}`);
      await r.body?.cancel();
      assert.equal(r.status, 502);
    }
    await edge.health.settled();
    assert.equal(edge.health.isUp(origin.url), true);
    const ok = await fetch(`http://127.0.0.1:${edge.port}/ok`);
    assert.equal(await ok.text(), "ok");
    await origin.close();
    const r = await fetch(`http://127.0.0.1:${edge.port}/after-close`);
    await r.body?.cancel();
    assert.equal(r.status, 502);
    assert.equal(edge.health.isUp(origin.url), false, "refused: down at once");
  } finally {
    await edge.close();
    await origin.close();
  }
});

Deno.test("UpstreamClient: a gateway-class answer checks the origin at once, and a failing health check takes it down", async () => {
  let backendUp = true;
  // A proxy in front of a backend: its health and its answers follow the backend.
  const proxy = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      const health = new URL(req.url).pathname === "/healthz";
      if (backendUp) return new Response("ok");
      return new Response("backend gone", { status: health ? 503 : 502 });
    },
  );
  const id = `http://127.0.0.1:${proxy.addr.port}`;
  const edge = await startTestEdge(
    edgeConfig([id], {
      upstream: {
        healthCheck: {
          intervalMs: 600_000,
          timeoutMs: 1_000,
          rise: 1,
          fall: 1,
        },
      },
    }),
    { healthChecks: false },
  );
  try {
    backendUp = false;
    const r = await fetch(`http://127.0.0.1:${edge.port}/any`);
    await r.body?.cancel();
    assert.equal(r.status, 502);
    await until(() => !edge.health.isUp(id));
    assert.match(edge.health.snapshot()[0]!.lastError!, /not ok/);
  } finally {
    await edge.close();
    await proxy.shutdown();
  }
});

Deno.test("UpstreamClient: an origin status outside 200..599 is a 502 to the viewer, on both servers, not a crash", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      void (async () => {
        try {
          const buf = new Uint8Array(16384);
          const n = await conn.read(buf);
          if (n === null) return;
          const health = new TextDecoder().decode(buf.subarray(0, n))
            .startsWith("GET /healthz");
          await conn.write(
            new TextEncoder().encode(
              `HTTP/1.1 ${
                health ? "200 OK" : "999 Weird"
              }\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok`,
            ),
          );
        } catch {
          // the edge went away
        } finally {
          conn.close();
        }
      })();
    }
  })();
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  try {
    for (const httpServer of ["http1", "deno"] as const) {
      const edge = await startTestEdge({ ...edgeConfig([url]), httpServer });
      try {
        for (let i = 0; i < 2; i++) {
          const r = await fetch(`http://127.0.0.1:${edge.port}/weird`);
          assert.equal(r.status, 502, httpServer);
          assert.match(r.headers.get("cache-status")!, /upstream-error/);
          await r.body?.cancel();
        }
      } finally {
        await edge.close();
      }
    }
  } finally {
    listener.close();
    await served.catch(() => {});
  }
});
