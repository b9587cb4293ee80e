/**
 * The cost of a VOD seek's MP4 (`/vod/{file}.mp4?start=`) before its first byte: the sample
 * range of the start and a new moov for it (planRange + planMp4), on a 1-hour file at 30:00.
 *
 *   deno bench -A bench/vod_seek_bench.ts            # MEDIA=/tmp/meridian-vod-media (hour.mp4)
 *
 * bench/run_vod_bench.sh makes the fixture (and measures the HTTP TTFB beside nginx's mp4).
 */
import { planMp4 } from "../codec/mp4/mod.ts";
import { Library } from "../origin/vod/library.ts";
import { indexMediaFile } from "../origin/vod/media_file.ts";
import { planRange } from "../origin/vod/outputs.ts";

const MEDIA = Deno.env.get("MEDIA") ?? "/tmp/meridian-vod-media";
let hour: Awaited<ReturnType<typeof indexMediaFile>> | undefined;
try {
  const library = new Library({ path: MEDIA, prefix: "/vod/" });
  const file = await library.stat("hour.mp4");
  if (file) hour = await indexMediaFile(file);
} catch (e) {
  console.warn(`SKIP vod_seek_bench: ${MEDIA}/hour.mp4 (${e})`);
}

let start = 1800;
Deno.bench({
  name:
    "seek 1-hour MP4 at 30:00: planRange + planMp4 (a new keyframe each time)",
  ignore: !hour,
  fn() {
    // 2 s GOPs: +2 s is always a new keyframe, so nothing is reused between iterations.
    start = start >= 3500 ? 1800 : start + 2;
    const plan = planRange(hour!, {
      startSeconds: start,
      endSeconds: undefined,
      accurate: false,
    });
    planMp4(plan.parts, { startMs: plan.showFromMs });
  },
});

Deno.bench({
  name: "seek 1-hour MP4 at 30:00: planRange only",
  ignore: !hour,
  fn() {
    planRange(hour!, {
      startSeconds: 1800,
      endSeconds: undefined,
      accurate: false,
    });
  },
});
