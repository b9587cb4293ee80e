/**
 * The channel against a manual clock: small FLV files written here (frames 40 ms apart with
 * payloads naming their file and frame), pumped by hand, the hub's tags checked.
 */
import assert from "node:assert/strict";
import {
  isAudioSequenceHeader,
  isVideoSequenceHeader,
} from "../../../codec/flv/media_info.ts";
import { type FlvTag, FlvTagType } from "../../../codec/flv/types.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import { RETRY_MS, VirtualChannel } from "../../../origin/virtual_live/mod.ts";
import { MediaCache } from "../../../origin/vod/mod.ts";
import {
  AAC_44K,
  AAC_48K,
  captureLogger,
  FRAME_MS,
  type LogLine,
  withClips,
} from "./_clips.ts";

/** A channel on a manual clock, with every tag its hub got. */
function harness(
  config: {
    playlist: string[];
    loop?: boolean;
    schedule?: { at: string; file: string }[];
    timeZone?: string;
  },
  startMs = Date.UTC(2024, 5, 1, 12, 0),
) {
  const clock = { ms: startMs };
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: { tag: (t) => t.data }, rtmp: { tag: (t) => t.data } },
    log: captureLogger([]),
  });
  const tags: { tag: FlvTag; atMs: number }[] = [];
  let publishes = 0;
  let ends = 0;
  registry.onPublish((h) => {
    publishes++;
    h.addListener({
      onTag: (tag) => tags.push({ tag, atMs: clock.ms }),
      onEnd: () => ends++,
    });
  });
  const lines: LogLine[] = [];
  const ch = new VirtualChannel({
    app: "live",
    stream: "tv",
    file: "",
    playlist: config.playlist,
    loop: config.loop ?? true,
    schedule: config.schedule ?? [],
    timeZone: config.timeZone ?? "UTC",
  }, {
    registry,
    log: captureLogger(lines),
    media: new MediaCache(1 << 24),
    now: () => clock.ms,
  });
  /** Pumps while moving the clock in steps of at most `stepMs`, for `forMs` of clock time. */
  const run = async (forMs: number, stepMs = 20) => {
    const end = clock.ms + forMs;
    while (clock.ms < end) {
      const wait = await ch.pump();
      clock.ms = Math.min(end, clock.ms + Math.max(1, Math.min(wait, stepMs)));
    }
    await ch.pump();
  };
  return {
    clock,
    registry,
    tags,
    lines,
    ch,
    run,
    get publishes() {
      return publishes;
    },
    get ends() {
      return ends;
    },
  };
}

const isConfig = (t: FlvTag) =>
  t.type === FlvTagType.Script ||
  (t.type === FlvTagType.Video
    ? isVideoSequenceHeader(t.data)
    : isAudioSequenceHeader(t.data));

/** (file id, frame number) of each media tag of `kind`. */
function frames(
  tags: { tag: FlvTag }[],
  type: number,
): [number, number, number][] {
  return tags.filter(({ tag }) => tag.type === type && !isConfig(tag)).map(
    ({ tag }) => {
      const o = type === FlvTagType.Video ? 5 : 2;
      return [tag.data[o]!, tag.data[o + 1]!, tag.timestampMs];
    },
  );
}

const THREE = [
  { id: 1, frames: 10, gop: 5, avc: 1, asc: AAC_44K },
  { id: 2, frames: 8, gop: 4, avc: 2, asc: AAC_44K }, // new video parameters
  { id: 3, frames: 6, gop: 3, avc: 2, asc: AAC_48K }, // same video, new audio
];

Deno.test("VirtualChannel plays 3 files for 3 loops with strictly increasing timestamps and every frame once per loop", async () => {
  await withClips(THREE, async (paths) => {
    const h = harness({ playlist: paths });
    try {
      // 3 loops of 10 + 8 + 6 frames at 40 ms = 2.88 s of media; a little more for the 4th start.
      await h.run(3 * 24 * FRAME_MS + 200);
      for (const type of [FlvTagType.Video, FlvTagType.Audio]) {
        const got = frames(h.tags, type);
        const ts = got.map((f) => f[2]);
        for (let i = 1; i < ts.length; i++) {
          assert.ok(
            ts[i]! > ts[i - 1]!,
            `type ${type}: ${ts[i - 1]} then ${ts[i]} at ${i}`,
          );
        }
        // Every frame of every file, in order, three times (the bytes read are the right ones).
        const expected: [number, number][] = [];
        for (let loop = 0; loop < 3; loop++) {
          for (const s of THREE) {
            for (let i = 0; i < s.frames; i++) expected.push([s.id, i]);
          }
        }
        assert.deepEqual(
          got.slice(0, expected.length).map((f) => [f[0], f[1]]),
          expected,
        );
      }
      // Continuous: each item starts where the one before ended, at the end of its last frame
      // of either track (clip 1: audio at 370 ms lasting 40 ms, so 410 ms).
      const video = frames(h.tags, FlvTagType.Video);
      assert.deepEqual(video.slice(9, 11).map((f) => f[2]), [360, 410]);
      assert.deepEqual(video.slice(23, 25).map((f) => f[2]), [940, 990]);
      assert.ok(h.ch.stats.loops >= 3, `loops ${h.ch.stats.loops}`);
      assert.equal(h.publishes, 1);
      assert.equal(h.ends, 0);
    } finally {
      h.ch.stop();
    }
    assert.equal(h.registry.get("live", "tv"), undefined);
  });
});

Deno.test("VirtualChannel sends sequence headers at start and then only where a file's config differs", async () => {
  await withClips(THREE, async (paths) => {
    const h = harness({ playlist: paths });
    try {
      await h.run(2 * 24 * FRAME_MS + 100);
      const headers = h.tags.filter(({ tag }) => isConfig(tag)).map(({ tag }) =>
        tag.type === FlvTagType.Script
          ? "meta"
          : tag.type === FlvTagType.Video
          ? `avc${tag.data[8]}@${tag.timestampMs}`
          : `aac${tag.data[3]!.toString(16)}@${tag.timestampMs}`
      );
      // Loop 1: clip 1 (both), clip 2 (video changed), clip 3 (audio changed); loops 2 and 3:
      // clip 1 (both differ from clip 3), clip 2 (video), clip 3 (audio). Items last 410, 330
      // and 250 ms.
      assert.deepEqual(headers, [
        "meta",
        "avc1@0",
        "aac10@0",
        "avc2@410",
        "aac90@740",
        "avc1@990",
        "aac10@990",
        "avc2@1400",
        "aac90@1730",
        "avc1@1980",
        "aac10@1980",
      ]);
    } finally {
      h.ch.stop();
    }
  });
});

Deno.test("VirtualChannel paces frames against the clock and re-anchors after a long stall instead of bursting", async () => {
  await withClips(
    [{ id: 1, frames: 50, gop: 10, avc: 1, asc: AAC_44K }],
    async (paths) => {
      const h = harness({ playlist: paths });
      try {
        await h.ch.pump();
        const start = h.clock.ms;
        await h.run(400);
        // Nothing is sent before it is due: a frame at media time t goes out at start + t or later.
        for (const { tag, atMs } of h.tags) {
          if (!isConfig(tag)) {
            assert.ok(
              atMs >= start + tag.timestampMs,
              `${tag.timestampMs} at ${atMs - start}`,
            );
          }
        }
        const sent = frames(h.tags, FlvTagType.Video).length;
        assert.ok(
          sent >= 10 && sent <= 11,
          `sent ${sent} video frames in 400 ms`,
        );
        // The clock jumps an hour (far past MAX_LAG_MS): a frame or two follow, not an hour's
        // backlog.
        const before = h.tags.length;
        h.clock.ms += 3600_000;
        await h.ch.pump();
        assert.ok(
          h.tags.length - before <= 2,
          `burst of ${h.tags.length - before}`,
        );
        // And timestamps stay continuous.
        const ts = frames(h.tags, FlvTagType.Video).map((f) => f[2]);
        await h.run(200);
        const after = frames(h.tags, FlvTagType.Video).map((f) => f[2]);
        assert.ok(after.length > ts.length);
        for (let i = 1; i < after.length; i++) {
          assert.equal(
            after[i]! - after[i - 1]!,
            FRAME_MS,
          );
        }
      } finally {
        h.ch.stop();
      }
    },
  );
});

Deno.test("VirtualChannel skips a missing or unreadable file with a log line and goes on", async () => {
  await withClips(THREE.slice(0, 2), async (paths, dir) => {
    const junk = `${dir}/junk.flv`;
    await Deno.writeTextFile(junk, "not a video at all");
    const folder = `${dir}/folder.mp4`;
    await Deno.mkdir(folder);
    const h = harness({
      playlist: [paths[0]!, `${dir}/missing.mp4`, junk, folder, paths[1]!],
    });
    try {
      await h.run(2 * 18 * FRAME_MS + 200);
      const order = frames(h.tags, FlvTagType.Video).map((f) => f[0]);
      assert.deepEqual([...new Set(order)], [1, 2]);
      assert.ok(
        order.filter((id) => id === 1).length >= 20,
        "clip 1 played twice",
      );
      const skipped = h.lines.filter((l) =>
        l.msg === "virtual live item skipped"
      );
      assert.ok(skipped.length >= 6, JSON.stringify(h.lines));
      assert.deepEqual(
        [...new Set(skipped.map((l) => l.fields?.file))].sort(),
        [`${dir}/folder.mp4`, `${dir}/junk.flv`, `${dir}/missing.mp4`],
      );
      // A folder is refused with the area's code before anything reads it.
      assert.match(
        String(skipped.find((l) => l.fields?.file === folder)?.fields?.error),
        /Cannot play .*folder\.mp4: not a regular file \(VIRTUAL_LIVE_NOT_A_FILE\)/,
      );
      assert.equal(skipped[0]!.level, "warn");
      assert.equal(h.ch.stats.skipped, skipped.length);
      assert.ok(h.registry.get("live", "tv"), "still live");
    } finally {
      h.ch.stop();
    }
  });
});

Deno.test("VirtualChannel with nothing playable goes off the air and retries after RETRY_MS, without spinning", async () => {
  await withClips(
    [{ id: 1, frames: 5, gop: 5, avc: 1, asc: AAC_44K }],
    async (paths, dir) => {
      const missing = `${dir}/later.flv`;
      const h = harness({ playlist: [missing, `${dir}/gone.mp4`] });
      try {
        const wait = await h.ch.pump();
        assert.equal(wait, RETRY_MS);
        assert.equal(h.ch.stats.skipped, 2);
        assert.equal(h.registry.get("live", "tv"), undefined);
        // Nothing is tried again before the retry time.
        h.clock.ms += RETRY_MS - 1;
        await h.ch.pump();
        assert.equal(h.ch.stats.skipped, 2);
        // The file appears: the next try plays it.
        await Deno.copyFile(paths[0]!, missing);
        h.clock.ms += 1;
        await h.run(100);
        assert.ok(h.registry.get("live", "tv"), "live again");
        assert.ok(frames(h.tags, FlvTagType.Video).length > 0);
      } finally {
        h.ch.stop();
      }
    },
  );
});

Deno.test("VirtualChannel.replacePlaylist() takes effect at the next item boundary", async () => {
  await withClips(THREE, async (paths) => {
    const h = harness({ playlist: [paths[0]!, paths[1]!] });
    try {
      await h.run(3 * FRAME_MS); // into clip 1
      h.ch.replacePlaylist([paths[2]!], true);
      assert.deepEqual(h.ch.programme.playlist, [paths[2]]);
      await h.run(10 * FRAME_MS + 6 * FRAME_MS * 2);
      const order = frames(h.tags, FlvTagType.Video).map((f) =>
        `${f[0]}:${f[1]}`
      );
      // Clip 1 plays to its end, then clip 3 only (clip 2 never plays).
      assert.deepEqual(order.slice(0, 12), [
        ...Array.from({ length: 10 }, (_, i) => `1:${i}`),
        "3:0",
        "3:1",
      ]);
      assert.ok(!order.some((o) => o.startsWith("2:")));
    } finally {
      h.ch.stop();
    }
  });
});

Deno.test("VirtualChannel plays a daily slot at its wall time, cutting the playlist at a keyframe, then resumes the playlist", async () => {
  await withClips([
    { id: 1, frames: 40, gop: 5, avc: 1, asc: AAC_44K },
    { id: 2, frames: 10, gop: 5, avc: 2, asc: AAC_44K },
    { id: 3, frames: 6, gop: 3, avc: 1, asc: AAC_44K },
  ], async (paths) => {
    // The channel starts at 20:00:59.5 in Shanghai (12:00:59.5 UTC): the 20:01 slot comes
    // 500 ms into clip 1.
    const h = harness({
      playlist: [paths[0]!, paths[2]!],
      schedule: [{ at: "20:01", file: paths[1]! }],
      timeZone: "Asia/Shanghai",
    }, Date.UTC(2024, 5, 1, 12, 0, 59, 500));
    try {
      await h.run(500 + 200 + 10 * FRAME_MS + 6 * FRAME_MS + 100);
      const video = frames(h.tags, FlvTagType.Video);
      const order = video.map((f) => `${f[0]}:${f[1]}`);
      const firstSlot = order.indexOf("2:0");
      assert.ok(firstSlot > 0, order.join(" "));
      // Clip 1 was cut before a keyframe (frame 15 or 20: the slot came at 500 ms = frame 12.5).
      const lastOfClip1 = video[firstSlot - 1]!;
      assert.equal(lastOfClip1[0], 1);
      assert.equal(
        (lastOfClip1[1] + 1) % 5,
        0,
        `cut after frame ${lastOfClip1[1]}`,
      );
      assert.ok(
        lastOfClip1[1] >= 12 && lastOfClip1[1] < 20,
        `cut after frame ${lastOfClip1[1]}`,
      );
      // The slot plays whole, then the playlist resumes at its next item (clip 3).
      assert.deepEqual(order.slice(firstSlot, firstSlot + 11), [
        ...Array.from({ length: 10 }, (_, i) => `2:${i}`),
        "3:0",
      ]);
      const ts = video.map((f) => f[2]);
      for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! > ts[i - 1]!);
    } finally {
      h.ch.stop();
    }
  });
});

Deno.test("VirtualChannel without loop ends its stream after the last item", async () => {
  await withClips(THREE.slice(0, 1), async (paths) => {
    const h = harness({ playlist: paths, loop: false });
    try {
      await h.run(10 * FRAME_MS + 200);
      assert.equal(h.ch.ended, true);
      assert.equal(h.ends, 1);
      assert.equal(h.registry.get("live", "tv"), undefined);
      assert.equal(await h.ch.pump(), Infinity);
      // A new playlist puts it back on the air.
      h.ch.replacePlaylist(paths, false);
      await h.run(100);
      assert.ok(h.registry.get("live", "tv"));
      assert.equal(h.publishes, 2);
    } finally {
      h.ch.stop();
    }
  });
});

Deno.test("VirtualChannel waits while someone publishes its stream key live", async () => {
  await withClips(THREE.slice(0, 1), async (paths) => {
    const h = harness({ playlist: paths });
    const live = h.registry.startPublish("live", "tv", {
      peer: "encoder",
      protocol: "rtmp",
    });
    try {
      assert.equal(await h.ch.pump(), RETRY_MS);
      assert.equal(h.ch.stats.itemsStarted, 0);
      live.end();
      h.clock.ms += RETRY_MS;
      await h.run(100);
      assert.equal(h.ch.stats.itemsStarted, 1);
      assert.equal(h.registry.get("live", "tv")?.publisher.protocol, "virtual");
    } finally {
      h.ch.stop();
    }
  });
});
