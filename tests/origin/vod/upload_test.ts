/**
 * Library writes through a real origin's HTTP port (Meridian's HTTP/1.1 server): a resumable
 * upload in chunks (state query, wrong offsets refused, the file invisible until its last
 * byte, then listed and served byte for byte), moves and deletes, and every refusal: no
 * token, bad paths, hidden folders, symlinks out of the library, non-media names, files over
 * `origin.vod.maxUploadBytes`, files in the way.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../../config/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../../origin/mod.ts";
import { parseUploadRange } from "../../../origin/vod/mod.ts";
import { readUntil } from "../../_helpers/sockets.ts";

const TOKEN = "origin-admin-token-0123456789";
const demo = await Deno.readFile(
  new URL("../../../media/demo.flv", import.meta.url),
);

async function withOrigin(
  fn: (base: string, dir: string, origin: OriginHandle) => Promise<void>,
  maxUploadBytes = 16 * 1024 * 1024,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian_upload_" });
  const lib = `${dir}/lib`;
  await Deno.mkdir(lib);
  const config = parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      adminToken: TOKEN,
      virtualLive: [],
      vod: { libraries: [{ path: lib, prefix: "/vod/" }], maxUploadBytes },
    },
  });
  const origin = await startOrigin(config.origin, {
    log: silentLogger,
    metrics: new MetricsRegistry(),
  });
  try {
    await fn(`http://127.0.0.1:${origin.httpPort}`, lib, origin);
  } finally {
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const auth = { Authorization: `Bearer ${TOKEN}` };

function put(
  url: string,
  body: Uint8Array | null,
  range?: string,
  headers: Record<string, string> = auth,
): Promise<Response> {
  return fetch(url, {
    method: "PUT",
    headers: { ...headers, ...(range ? { "Content-Range": range } : {}) },
    body: body as Uint8Array<ArrayBuffer> | null,
  });
}

Deno.test("parseUploadRange() reads chunks and state queries, refuses the rest", () => {
  assert.deepEqual(parseUploadRange("bytes 5-9/10"), {
    kind: "chunk",
    start: 5,
    end: 9,
    total: 10,
  });
  assert.deepEqual(parseUploadRange("BYTES */0"), { kind: "status", total: 0 });
  for (
    const bad of [
      "bytes 5-9/9",
      "bytes 9-5/10",
      "bytes 5-/10",
      "items 0-1/2",
      "bytes 0-1/x",
      "",
    ]
  ) {
    assert.throws(() => parseUploadRange(bad), /Content-Range/, bad);
  }
});

Deno.test("upload: chunks in order, state query, wrong offset refused, file appears only at the end and serves byte for byte", async () => {
  await withOrigin(async (base, lib) => {
    const url = `${base}/admin/vod/new%20folder/%E5%BD%B1.flv`;
    const total = demo.byteLength;
    const cut = [0, 100_000, 250_000, total];
    // First chunk.
    let res = await put(
      url,
      demo.slice(0, cut[1]),
      `bytes 0-${cut[1]! - 1}/${total}`,
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      path: "new folder/影.flv",
      received: cut[1],
      total,
      complete: false,
    });
    // The state, as a client that lost its connection asks for it.
    res = await put(url, null, `bytes */${total}`);
    assert.equal((await res.json()).received, cut[1]);
    // A chunk from the wrong offset is refused and changes nothing.
    res = await put(url, demo.slice(0, 10), `bytes 0-9/${total}`);
    assert.equal(res.status, 409);
    assert.match((await res.json()).error, /expected 100000/);
    res = await put(url, null, `bytes */${total}`);
    assert.equal((await res.json()).received, cut[1]);
    // Not served before the last byte, and the partial's folder is never served.
    res = await fetch(`${base}/vod/new%20folder/%E5%BD%B1.flv`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    res = await fetch(`${base}/api/vod`);
    assert.deepEqual((await res.json()).files, []);
    for await (const e of Deno.readDir(`${lib}/.uploads`)) {
      const r = await fetch(`${base}/vod/.uploads/${e.name}`);
      assert.ok(r.status === 400 || r.status === 404, `${r.status}`);
      await r.body?.cancel();
    }
    // The rest.
    res = await put(
      url,
      demo.slice(cut[1], cut[2]),
      `bytes ${cut[1]}-${cut[2]! - 1}/${total}`,
    );
    assert.equal(res.status, 200);
    await res.body?.cancel();
    res = await put(
      url,
      demo.slice(cut[2]),
      `bytes ${cut[2]}-${total - 1}/${total}`,
    );
    assert.equal(res.status, 201);
    assert.equal((await res.json()).complete, true);
    const served = new Uint8Array(
      await (await fetch(`${base}/vod/new%20folder/%E5%BD%B1.flv`))
        .arrayBuffer(),
    );
    assert.deepEqual(served, demo);
    const listing = await (await fetch(`${base}/api/vod`)).json();
    assert.deepEqual(
      listing.files.map((f: { path: string }) => f.path),
      ["new folder/影.flv"],
    );
    assert.ok(listing.files[0].durationSeconds > 1);
    // Nothing left of the partial.
    const left = [];
    for await (const e of Deno.readDir(`${lib}/.uploads`)) left.push(e.name);
    assert.deepEqual(left, []);
  });
});

Deno.test("upload: a whole file in one PUT; an existing file is refused unless overwrite=1", async () => {
  await withOrigin(async (base, lib) => {
    const url = `${base}/admin/vod/a.flv`;
    let res = await put(url, demo);
    assert.equal(res.status, 201);
    await res.body?.cancel();
    res = await put(url, demo.slice(0, 1000));
    assert.equal(res.status, 409);
    assert.match((await res.json()).error, /in the way/);
    res = await put(`${url}?overwrite=1`, demo.slice(0, 1000));
    assert.equal(res.status, 201);
    await res.body?.cancel();
    assert.equal((await Deno.stat(`${lib}/a.flv`)).size, 1000);
  });
});

Deno.test("upload: refusals: no token, bad and hidden paths, non-media names, over the size limit, body longer than its range", async () => {
  await withOrigin(async (base, _lib, { httpPort: port }) => {
    const cases: [
      string,
      Record<string, string>,
      string | undefined,
      number,
    ][] = [
      ["/admin/vod/a.flv", {}, undefined, 401],
      // fetch resolves a literal %2e%2e segment itself; twice encoded it reaches us.
      ["/admin/vod/a/%252e%252e/b.flv", auth, undefined, 400],
      ["/admin/vod/.hidden/b.flv", auth, undefined, 400],
      ["/admin/vod/a%5Cb.flv", auth, undefined, 400],
      ["/admin/vod/page.html", auth, undefined, 415],
      ["/admin/vod/big.flv", auth, "bytes 0-99/100000", 413],
      ["/admin/vod/short.flv", auth, "bytes 0-9/100", 400],
    ];
    for (const [path, headers, range, status] of cases) {
      const res = await put(
        `${base}${path}`,
        demo.slice(0, 100),
        range,
        headers,
      );
      assert.equal(res.status, status, path);
      await res.body?.cancel();
    }
    // Raw '..' segments, as fetch would never send them: the request URL is resolved first
    // (RFC 3986 §5.2.4), so they leave the library's prefix and name no library file.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(
      new TextEncoder().encode(
        `PUT /admin/vod/a/../../b.flv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
          "Content-Length: 3\r\nConnection: close\r\n\r\nabc",
      ),
    );
    const raw = await readUntil(conn, 5000);
    conn.close();
    assert.match(raw.text, /^HTTP\/1\.1 40[04]/);
    const listing = await (await fetch(`${base}/api/vod`)).json();
    assert.deepEqual(listing.files, []);
  }, 50_000);
});

Deno.test("upload: a folder symlinked out of the library is never written through", async () => {
  await withOrigin(async (base, lib) => {
    const outside = await Deno.makeTempDir({ prefix: "meridian_outside_" });
    try {
      await Deno.symlink(outside, `${lib}/out`);
      const res = await put(`${base}/admin/vod/out/x.flv`, demo.slice(0, 100));
      assert.equal(res.status, 400);
      assert.match((await res.json()).error, /out of the library/);
      const moved = await put(`${base}/admin/vod/in.flv`, demo);
      await moved.body?.cancel();
      const mv = await fetch(`${base}/admin/vod/in.flv`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ action: "move", to: "out/x.flv" }),
      });
      assert.equal(mv.status, 400);
      await mv.body?.cancel();
      const left = [];
      for await (const e of Deno.readDir(outside)) left.push(e.name);
      assert.deepEqual(left, []);
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("library admin: move (into a new folder), refuse moving onto a file, delete", async () => {
  await withOrigin(async (base) => {
    for (const name of ["a.flv", "b.flv"]) {
      const r = await put(`${base}/admin/vod/${name}`, demo);
      assert.equal(r.status, 201);
      await r.body?.cancel();
    }
    const move = (from: string, body: unknown) =>
      fetch(`${base}/admin/vod/${from}`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify(body),
      });
    let res = await move("a.flv", { action: "move", to: "films/2024/a.flv" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      from: "a.flv",
      to: "films/2024/a.flv",
    });
    res = await move("b.flv", { action: "move", to: "films/2024/a.flv" });
    assert.equal(res.status, 409);
    await res.body?.cancel();
    res = await move("b.flv", { action: "move", to: "../b.flv" });
    assert.equal(res.status, 400);
    await res.body?.cancel();
    res = await move("b.flv", { action: "copy", to: "c.flv" });
    assert.equal(res.status, 400);
    await res.body?.cancel();
    res = await move("missing.flv", { action: "move", to: "c.flv" });
    assert.equal(res.status, 404);
    await res.body?.cancel();
    let listing = await (await fetch(`${base}/api/vod`)).json();
    assert.deepEqual(
      listing.files.map((f: { path: string }) => f.path),
      ["b.flv", "films/2024/a.flv"],
    );
    res = await fetch(`${base}/admin/vod/b.flv`, {
      method: "DELETE",
      headers: auth,
    });
    assert.equal(res.status, 204);
    res = await fetch(`${base}/admin/vod/b.flv`, {
      method: "DELETE",
      headers: auth,
    });
    assert.equal(res.status, 404);
    await res.body?.cancel();
    listing = await (await fetch(`${base}/api/vod`)).json();
    assert.deepEqual(
      listing.files.map((f: { path: string }) => f.path),
      ["films/2024/a.flv"],
    );
    // Other admin paths are not the library's: the origin's other routes answer them.
    res = await fetch(`${base}/admin/channels/live/none`, { headers: auth });
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });
});
