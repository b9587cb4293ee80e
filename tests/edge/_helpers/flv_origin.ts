/**
 * A tiny live HTTP-FLV origin, run as a child process by the fan-out tests so it can be killed:
 * `deno run --allow-net --allow-read flv_origin.ts FILE.flv`. Every `/{app}/{stream}.flv`
 * connection plays FILE from its start, paced in real time and looped; `/stats` reports
 * connection counts; the first stdout line is the bound port.
 */
import {
  encodeFlvHeader,
  encodeFlvTag,
  readFlvFile,
} from "../../../codec/flv/mod.ts";

const file = Deno.args[0];
if (!file) throw new Error("usage: flv_origin.ts FILE.flv");
const flv = readFlvFile(await Deno.readFile(file));
const lastTs = flv.tags.at(-1)?.timestampMs ?? 0;
let total = 0;
let active = 0;

function play(signal: AbortSignal): ReadableStream<Uint8Array> {
  let i = 0;
  let loop = 0;
  const start = performance.now();
  return new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(encodeFlvHeader(flv.header));
    },
    async pull(c) {
      if (signal.aborted) return;
      if (i >= flv.tags.length) {
        i = 0;
        loop++;
      }
      const tag = flv.tags[i++]!;
      const ts = tag.timestampMs + loop * (lastTs + 40);
      const wait = ts - (performance.now() - start);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      c.enqueue(encodeFlvTag({ ...tag, timestampMs: ts }));
    },
  });
}

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: () => {},
}, (req, info) => {
  const url = new URL(req.url);
  if (url.pathname === "/healthz") return new Response("ok");
  if (url.pathname === "/stats") return Response.json({ total, active });
  if (!/^\/[\w-]+\/[\w-]+\.flv$/.test(url.pathname)) {
    return new Response("not found", { status: 404 });
  }
  if (url.pathname.includes("missing")) {
    return new Response("no such stream", { status: 404 });
  }
  total++;
  active++;
  let done = false;
  const finish = () => {
    if (!done) active--;
    done = true;
  };
  // `completed` settles when the response is fully sent or the client went away.
  const ac = new AbortController();
  info.completed.finally(() => {
    ac.abort();
    finish();
  });
  const body = play(ac.signal);
  return new Response(body, { headers: { "content-type": "video/x-flv" } });
});
console.log(server.addr.port);
