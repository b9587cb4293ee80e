import assert from "node:assert/strict";
import {
  encodeFlvHeader,
  encodeFlvTag,
  FlvReader,
  FlvTagType,
} from "../../codec/flv/mod.ts";
import {
  LiveFanout,
  type LiveFanoutOptions,
  type LiveViewer,
  type Schedule,
} from "../../live/mod.ts";

const FLV = { flv: { header: encodeFlvHeader, tag: encodeFlvTag } };

function fanout(o: Partial<LiveFanoutOptions> = {}): LiveFanout {
  return new LiveFanout({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: FLV,
    ...o,
  });
}

const AVC_SEQ = new Uint8Array([0x17, 0, 0, 0, 1, 0x64, 0, 0x1f]);
const KEY = (n: number) => new Uint8Array([0x17, 1, 0, 0, 0, n]);
const INTER = (n: number) => new Uint8Array([0x27, 1, 0, 0, 0, n]);
const AAC_SEQ = new Uint8Array([0xaf, 0, 0x12, 0x10]);

function recorder(
  cap = Infinity,
): LiveViewer & {
  bytes: Uint8Array[];
  writes: number;
  closed?: string;
  dropped?: boolean;
} {
  let queued = 0;
  const v = {
    format: "flv",
    id: "t",
    bytes: [] as Uint8Array[],
    writes: 0,
    closed: undefined as string | undefined,
    dropped: undefined as boolean | undefined,
    write(b: Uint8Array) {
      queued += b.byteLength;
      if (queued > cap) return false;
      v.bytes.push(b);
      v.writes++;
      return true;
    },
    close(reason: string, dropped: boolean) {
      v.closed = reason;
      v.dropped = dropped;
    },
  };
  return v;
}

function parse(chunks: Uint8Array[]) {
  const r = new FlvReader();
  for (const c of chunks) r.push(c);
  return r.pullAll();
}

Deno.test("LiveFanout.addViewer() sends header and config tags in one write, then the cached GOP as the packets' shared buffers (no copy per viewer)", () => {
  const hub = fanout();
  hub.setMedia(true, true);
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 0, data: AVC_SEQ });
  hub.pushTag({ type: FlvTagType.Audio, timestampMs: 0, data: AAC_SEQ });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 40, data: INTER(9) }); // before any keyframe: not cached
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 80, data: KEY(1) });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 120, data: INTER(2) });
  const v = recorder();
  const w = recorder();
  hub.addViewer(v);
  hub.addViewer(w);
  assert.equal(v.writes, 3, "head, then the GOP's two frames");
  assert.equal(v.bytes[1], w.bytes[1], "the keyframe's encoding is shared");
  assert.equal(v.bytes[2], w.bytes[2]);
  assert.notEqual(v.bytes[0], w.bytes[0], "each viewer's head is its own");
  const tags = parse(v.bytes);
  assert.deepEqual(tags.map((t) => t.data[5] ?? t.data[1]), [0x64, 0, 1, 2]);
  assert.equal(
    tags[0]!.timestampMs,
    80,
    "config tags stamped with the first GOP timestamp",
  );
});

Deno.test("LiveFanout coalesces tags into one shared write per flush for every viewer", () => {
  const hub = fanout({ flushIntervalMs: 1000 });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 0, data: KEY(1) });
  const a = recorder();
  const b = recorder();
  hub.addViewer(a);
  hub.addViewer(b);
  for (let i = 0; i < 5; i++) {
    hub.pushTag({
      type: FlvTagType.Video,
      timestampMs: 40 * (i + 1),
      data: INTER(i),
    });
  }
  hub.flush();
  assert.equal(a.writes, 3, "head, cached keyframe, one flush");
  assert.equal(b.writes, 3);
  assert.equal(
    a.bytes[2],
    b.bytes[2],
    "the same Uint8Array is shared, not copied",
  );
  assert.equal(parse(a.bytes).length, 6);
  hub.end("done");
  assert.equal(a.closed, "done");
  assert.equal(a.dropped, false);
});

Deno.test("LiveFanout drops a slow viewer at its queue cap and keeps serving the others", () => {
  const hub = fanout();
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 0, data: KEY(1) });
  const slow = recorder(200);
  const fast = recorder();
  hub.addViewer(slow);
  hub.addViewer(fast);
  for (let i = 0; i < 50; i++) {
    hub.pushTag({
      type: FlvTagType.Video,
      timestampMs: 40 * (i + 1),
      data: new Uint8Array(64).fill(0x27),
    });
  }
  assert.equal(slow.dropped, true);
  assert.match(slow.closed!, /slow viewer/);
  assert.equal(hub.viewerCount, 1);
  assert.equal(
    fast.writes,
    52,
    "head and cached keyframe, then one write per tag",
  );
});

Deno.test("LiveFanout.breakGop(): a viewer joining during a reconnect waits for the next keyframe", () => {
  const hub = fanout();
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 0, data: AVC_SEQ });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 0, data: KEY(1) });
  hub.breakGop();
  const v = recorder();
  hub.addViewer(v);
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 40, data: INTER(2) });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 80, data: KEY(3) });
  const tags = parse(v.bytes);
  assert.deepEqual(
    tags.map((t) => t.data[1]),
    [0, 1],
    "sequence header, then the new keyframe only",
  );
  assert.equal(tags[1]!.data[5], 3);
});

Deno.test("LiveFanout.addViewer(): onMetaData at 0 and sequence headers at the first media timestamp, the same on origin and edge", () => {
  const hub = fanout();
  hub.pushTag({
    type: FlvTagType.Script,
    timestampMs: 5000,
    data: new Uint8Array([
      2,
      0,
      10,
      ...new TextEncoder().encode("onMetaData"),
      5,
    ]),
  });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 5000, data: AVC_SEQ });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 7000, data: KEY(1) });
  const v = recorder();
  hub.addViewer(v);
  const tags = parse(v.bytes);
  assert.deepEqual(tags.map((t) => [t.type, t.timestampMs]), [
    [FlvTagType.Script, 0],
    [FlvTagType.Video, 7000],
    [FlvTagType.Video, 7000],
  ]);
});

Deno.test("LiveFanout flushes on the injected schedule: one write per interval, none before it", () => {
  const timers: (() => void)[] = [];
  const schedule: Schedule = (
    fn,
  ) => (timers.push(fn), () => timers.splice(timers.indexOf(fn), 1));
  const hub = fanout({ flushIntervalMs: 50, schedule });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 0, data: KEY(1) });
  const v = recorder();
  hub.addViewer(v);
  for (let i = 0; i < 3; i++) {
    hub.pushTag({
      type: FlvTagType.Video,
      timestampMs: 40 * (i + 1),
      data: INTER(i),
    });
  }
  assert.equal(v.writes, 2, "only the start-up burst before the timer fires");
  assert.equal(timers.length, 1, "one timer for the interval");
  timers.shift()!();
  assert.equal(v.writes, 3);
  assert.equal(parse(v.bytes).length, 4);
});

Deno.test("LiveFanout encodes each tag once per format however many viewers read it", () => {
  let encoded = 0;
  const hub = fanout({
    encoders: {
      a: { tag: (t) => (encoded++, t.data) },
      b: { tag: (t) => (encoded++, t.data) },
    },
  });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 0, data: KEY(1) });
  const viewers = Array.from(
    { length: 10 },
    (_, i) => ({ ...recorder(), format: i % 2 ? "a" : "b" }),
  );
  for (const v of viewers) hub.addViewer(v);
  encoded = 0;
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 40, data: INTER(2) });
  assert.equal(encoded, 2);
});
