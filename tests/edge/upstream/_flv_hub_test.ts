import assert from "node:assert/strict";
import { FlvReader, FlvTagType } from "../../../codec/flv/mod.ts";
import { FlvHub, type FlvViewer } from "../../../edge/upstream/_flv_hub.ts";

const AVC_SEQ = new Uint8Array([0x17, 0, 0, 0, 1, 0x64, 0, 0x1f]);
const KEY = (n: number) => new Uint8Array([0x17, 1, 0, 0, 0, n]);
const INTER = (n: number) => new Uint8Array([0x27, 1, 0, 0, 0, n]);
const AAC_SEQ = new Uint8Array([0xaf, 0, 0x12, 0x10]);

function recorder(
  cap = Infinity,
): FlvViewer & {
  bytes: Uint8Array[];
  writes: number;
  closed?: string;
  dropped?: boolean;
} {
  let queued = 0;
  const v = {
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

Deno.test("FlvHub.addViewer() sends header, config tags and the cached GOP in one write", () => {
  const hub = new FlvHub({ flushIntervalMs: 0, maxGopCacheBytes: 1 << 20 });
  hub.setMedia(true, true);
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 0, data: AVC_SEQ });
  hub.pushTag({ type: FlvTagType.Audio, timestampMs: 0, data: AAC_SEQ });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 40, data: INTER(9) }); // before any keyframe: not cached
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 80, data: KEY(1) });
  hub.pushTag({ type: FlvTagType.Video, timestampMs: 120, data: INTER(2) });
  const v = recorder();
  hub.addViewer(v);
  assert.equal(v.writes, 1);
  const tags = parse(v.bytes);
  assert.deepEqual(tags.map((t) => t.data[5] ?? t.data[1]), [0x64, 0, 1, 2]);
  assert.equal(
    tags[0]!.timestampMs,
    80,
    "config tags stamped with the first GOP timestamp",
  );
});

Deno.test("FlvHub coalesces tags into one shared write per flush for every viewer", () => {
  const hub = new FlvHub({ flushIntervalMs: 1000, maxGopCacheBytes: 1 << 20 });
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
  assert.equal(a.writes, 2);
  assert.equal(b.writes, 2);
  assert.equal(
    a.bytes[1],
    b.bytes[1],
    "the same Uint8Array is shared, not copied",
  );
  assert.equal(parse([a.bytes[0]!, a.bytes[1]!]).length, 6);
  hub.end("done");
  assert.equal(a.closed, "done");
  assert.equal(a.dropped, false);
});

Deno.test("FlvHub drops a slow viewer at its queue cap and keeps serving the others", () => {
  const hub = new FlvHub({ flushIntervalMs: 0, maxGopCacheBytes: 1 << 20 });
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
  assert.equal(fast.writes, 51);
});

Deno.test("FlvHub.breakGop(): a viewer joining during a reconnect waits for the next keyframe", () => {
  const hub = new FlvHub({ flushIntervalMs: 0, maxGopCacheBytes: 1 << 20 });
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
