import assert from "node:assert/strict";
import { createLiveBody } from "../../runtime/live_body.ts";
import { serveHttp1 } from "../../runtime/http1_server.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("createLiveBody() keeps bytes written before a reader binds, and reports the cap", async () => {
  let gone = 0;
  const { response, out } = createLiveBody({
    maxQueueBytes: 8,
    headers: { "content-type": "video/x-flv" },
    gone: () => gone++,
  });
  assert.ok(out.write(enc("FLV")));
  assert.ok(out.write(enc("hdr")));
  assert.equal(out.write(enc("toolong")), false, "13 unsent bytes > cap 8");
  out.end(false, "stream ended");
  assert.equal(out.write(enc("late")), false, "nothing after the end");
  assert.equal(await response.text(), "FLVhdrtoolong");
  assert.equal(gone, 0, "the caller's own end is not reported back");
});

Deno.test("createLiveBody() reports a reader that cancels once, and ends a dropped body with an error", async () => {
  let gone = 0;
  const a = createLiveBody({
    maxQueueBytes: 1 << 20,
    headers: {},
    gone: () => gone++,
  });
  const reader = a.response.body!.getReader();
  a.out.write(enc("x"));
  assert.deepEqual((await reader.read()).value, enc("x"));
  await reader.cancel();
  await reader.cancel();
  assert.equal(gone, 1);
  assert.equal(
    a.out.write(enc("y")),
    false,
    "a write after the cancel reports, never throws",
  );
  a.out.end(false, "unpublished"); // nor does an end

  const b = createLiveBody({ maxQueueBytes: 1 << 20, headers: {}, gone() {} });
  b.out.write(enc("part"));
  b.out.end(true, "slow viewer");
  await assert.rejects(b.response.arrayBuffer(), /slow viewer/);
});

Deno.test("createLiveBody() through serveHttp1: early bytes first, chunked, then a clean last chunk", async () => {
  let gone = 0;
  let feed: ReturnType<typeof createLiveBody>["out"] | undefined;
  const server = serveHttp1(
    { hostname: "127.0.0.1", port: 0 },
    () => {
      const { response, out } = createLiveBody({
        maxQueueBytes: 1 << 20,
        framing: "chunked",
        headers: { "content-type": "video/x-flv" },
        gone: () => gone++,
      });
      out.write(enc("early")); // before the server has the response
      feed = out;
      return response;
    },
  );
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/live/t.flv`);
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    const reader = res.body!.getReader();
    let text = "";
    const dec = new TextDecoder();
    while (!text.includes("early")) {
      text += dec.decode((await reader.read()).value);
    }
    feed!.write(enc("-more"));
    feed!.end(false, "unpublished");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    assert.equal(text, "early-more");
    assert.equal(gone, 0);
  } finally {
    await server.shutdown(1000);
  }
});
