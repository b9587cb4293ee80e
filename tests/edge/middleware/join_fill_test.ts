/**
 * `EdgeCache.joinFill`, the HTTP/1.1 server's fast path for requests that collapse onto another
 * request's origin fetch: it must answer what `handle` answers such a request (fields, status,
 * bytes as they arrive) and leave everything else to `handle`. A real origin on loopback.
 */
import assert from "node:assert/strict";
import { decodeRequestHead } from "../../../codec/http1/mod.ts";
import { httpDate } from "../../../net/mod.ts";
import {
  createTestCache,
  ManualClock,
  startTestOrigin,
} from "../_helpers/fixtures.ts";

function headOf(path: string, extra = "") {
  const h = decodeRequestHead(
    new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: edge\r\n${extra}\r\n`,
    ),
  );
  assert.ok(h);
  return h;
}

/** Status line and fields of an encoded response head. */
function parseHead(bytes: Uint8Array): {
  status: string;
  fields: Map<string, string>;
} {
  const text = new TextDecoder().decode(bytes);
  assert.ok(text.endsWith("\r\n\r\n"), "the first piece is the whole head");
  const [status, ...lines] = text.slice(0, -4).split("\r\n");
  const fields = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf(":");
    const k = l.slice(0, i).toLowerCase();
    assert.ok(!fields.has(k), `one ${k} field`);
    fields.set(k, l.slice(i + 1).trim());
  }
  return { status: status!, fields };
}

function gatedOrigin(extraHeaders: Record<string, string> = {}) {
  let gate = Promise.withResolvers<void>();
  const origin = startTestOrigin(() => {
    const wait = gate.promise;
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(new Uint8Array(1000).fill(1));
        await wait;
        c.enqueue(new Uint8Array(1000).fill(2));
        c.close();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "video/mp2t",
        "content-length": "2000",
        "cache-control": "max-age=60",
        "x-origin-note": "kept",
        ...extraHeaders,
      },
    });
  });
  return {
    origin,
    release() {
      gate.resolve();
      gate = Promise.withResolvers<void>();
    },
  };
}

async function drain(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

Deno.test("EdgeCache.joinFill: a waiter gets the handler path's answer, bytes as they arrive, without a Request", async () => {
  const { origin, release } = gatedOrigin();
  const t = createTestCache([origin.url], new ManualClock());
  try {
    const url = "http://edge/vod/a.ts";
    const leader = await t.cache.handle(new Request(url));
    const viaHandle = await t.cache.handle(new Request(url));
    assert.match(viaHandle.headers.get("cache-status")!, /; collapsed$/);
    const joined = await t.cache.joinFill(headOf("/vod/a.ts"), httpDate());
    assert.ok(joined && !Array.isArray(joined), "a streamed answer");
    const it = (joined as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const head = parseHead((await it.next()).value!);
    // The first bytes come before the origin has sent the rest.
    const first = await it.next();
    assert.equal(first.value![0], 1);
    release();
    const parts = [first.value!];
    for (let r = await it.next(); !r.done; r = await it.next()) {
      parts.push(r.value);
    }
    const body = new Uint8Array(await new Blob(parts).arrayBuffer());
    assert.equal(body.length, 2000);
    assert.deepEqual(body, await drain(viaHandle));
    assert.equal((await drain(leader)).length, 2000);

    assert.equal(head.status, "HTTP/1.1 200 OK");
    const expected = new Map<string, string>([...viaHandle.headers]);
    // `handle` leaves Content-Length for the server to write from its field; so does Date.
    assert.deepEqual(
      [...head.fields.keys()].sort(),
      [...expected.keys()].sort(),
    );
    for (const [k, v] of expected) assert.equal(head.fields.get(k), v, k);
    assert.equal(head.fields.get("x-origin-note"), "kept");
    assert.equal(head.fields.get("content-length"), "2000");
    assert.equal(t.stats.outcomes.collapsed, 2);
    assert.equal(origin.count("/vod/a.ts"), 1);
    // Stored now: a hit is `hitBytes`' to answer, not this path's.
    assert.equal(t.cache.joinFill(headOf("/vod/a.ts"), httpDate()), undefined);
  } finally {
    release();
    await t.close();
    await origin.close();
  }
});

Deno.test("EdgeCache.joinFill: says Connection: close when asked, and leaves Range, conditionals, queries, Vary and cold paths to handle", async () => {
  const plain = gatedOrigin();
  const varied = gatedOrigin({ vary: "accept-encoding" });
  const t = createTestCache([plain.origin.url], new ManualClock());
  const v = createTestCache([varied.origin.url], new ManualClock());
  try {
    const date = httpDate();
    assert.equal(t.cache.joinFill(headOf("/vod/b.ts"), date), undefined);
    const leader = await t.cache.handle(new Request("http://edge/vod/b.ts"));
    for (
      const h of [
        headOf("/vod/b.ts", "Range: bytes=0-9\r\n"),
        headOf("/vod/b.ts", 'If-None-Match: "x"\r\n'),
        headOf("/vod/b.ts?x=1"),
        headOf("/vod/other.ts"),
      ]
    ) assert.equal(t.cache.joinFill(h, date), undefined, h.target);
    const closing = await t.cache.joinFill(
      headOf("/vod/b.ts", "Connection: close\r\n"),
      date,
    );
    assert.ok(closing && !Array.isArray(closing));
    const it = (closing as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const head = parseHead((await it.next()).value!);
    assert.equal(head.fields.get("connection"), "close");
    plain.release();
    let n = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      n += r.value.byteLength;
    }
    assert.equal(n, 2000);
    await drain(leader);

    // A Vary answer is per variant: `handle` decides who shares it.
    const vLeader = await v.cache.handle(new Request("http://edge/vod/c.ts"));
    assert.equal(await v.cache.joinFill(headOf("/vod/c.ts"), date), undefined);
    varied.release();
    await drain(vLeader);
  } finally {
    plain.release();
    varied.release();
    await t.close();
    await v.close();
    await plain.origin.close();
    await varied.origin.close();
  }
});

Deno.test("EdgeCache.joinFill: a waiter whose wait runs out gets what handle gives it (504, collapsed)", async () => {
  let release!: () => void;
  const slow = new Promise<void>((r) => release = r);
  const began = Promise.withResolvers<void>();
  const origin = startTestOrigin(async () => {
    began.resolve(); // the leader's fetch is at the origin: its fill is in flight
    await slow;
    return new Response("late", { headers: { "cache-control": "max-age=60" } });
  });
  const t = createTestCache([origin.url], new ManualClock(), {
    collapseWaitMs: 150,
  });
  try {
    const leader = t.cache.handle(new Request("http://edge/vod/d.ts"));
    await began.promise;
    const viaHandle = t.cache.handle(new Request("http://edge/vod/d.ts"));
    const joined = await t.cache.joinFill(headOf("/vod/d.ts"), httpDate());
    const a = await viaHandle;
    assert.equal(a.status, 504);
    assert.ok(Array.isArray(joined));
    const parts = joined as Uint8Array[];
    const head = parseHead(parts[0]!);
    assert.equal(head.status, "HTTP/1.1 504 Gateway Timeout");
    assert.equal(
      head.fields.get("cache-status"),
      a.headers.get("cache-status"),
    );
    assert.equal(head.fields.get("x-cache"), "MISS");
    assert.equal(
      new TextDecoder().decode(parts[1]),
      await a.text(),
    );
    assert.equal(head.fields.get("content-length"), String(parts[1]!.length));
    release();
    assert.equal((await leader).status, 200);
    await (await leader).body?.cancel();
  } finally {
    release();
    await t.close();
    await origin.close();
  }
});
