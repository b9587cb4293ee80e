/**
 * Publish → first HLS segment, measured finer than the harness's 20 ms playlist polling: ffmpeg
 * publishes a pre-encoded clip (`-re -c copy`) through a byte-counting TCP relay in front of the
 * origin's RTMP port, and the playlist is polled every 2 ms. Reported per run: ms from the
 * publisher's first byte to the first segment listed, and the first segment's EXTINF (the GOP).
 *
 * usage (origin running, e.g. `deno run -A main.ts --roles origin --config bench/live_origin.yaml`):
 *   deno run -A bench/hls_first_segment.ts [CLIP=/tmp/bench-run/media/src.flv] [RTMP_PORT=19351]
 *     [HTTP_PORT=18001] [RUNS=3]
 * 127.0.0.1 only; each run is bounded (6 s).
 */

const [
  clip = "/tmp/bench-run/media/src.flv",
  rtmpPort = "19351",
  httpPort = "18001",
  runs = "3",
] = Deno.args;

async function once(): Promise<
  { firstByteToSegmentMs: number; extinf: number } | undefined
> {
  const name = `fs${Date.now() % 1_000_000}`;
  let firstByte = 0;
  // A relay: its accept-and-first-read time is when ffmpeg starts talking RTMP.
  const relay = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const piping = (async () => {
    const client = await relay.accept();
    const upstream = await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(rtmpPort),
    });
    const buf = new Uint8Array(64 * 1024);
    const n = await client.read(buf);
    firstByte = performance.now();
    if (n) await upstream.write(buf.subarray(0, n));
    await Promise.allSettled([
      client.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(client.writable),
    ]);
  })();
  const t0 = performance.now();
  const ffmpeg = new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-re",
      "-i",
      clip,
      "-t",
      "4",
      "-c",
      "copy",
      "-f",
      "flv",
      `rtmp://127.0.0.1:${relay.addr.port}/live/${name}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let result: { firstByteToSegmentMs: number; extinf: number } | undefined;
  while (performance.now() - t0 < 6000 && !result) {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/live/${name}.m3u8`);
      const text = await r.text();
      const m = /#EXTINF:([\d.]+)/.exec(text);
      if (r.status === 200 && m && firstByte) {
        result = {
          firstByteToSegmentMs: performance.now() - firstByte,
          extinf: Number(m[1]),
        };
      }
    } catch {
      // not listed yet
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await ffmpeg.status;
  relay.close();
  await piping.catch(() => {});
  return result;
}

for (let i = 0; i < Number(runs); i++) {
  const r = await once();
  console.log(JSON.stringify(
    r
      ? {
        run: i + 1,
        first_byte_to_first_segment_ms: +r.firstByteToSegmentMs.toFixed(1),
        first_segment_extinf_s: r.extinf,
        over_gop_ms: +(r.firstByteToSegmentMs - r.extinf * 1000).toFixed(1),
      }
      : { run: i + 1, error: "no segment within 6 s" },
  ));
}
