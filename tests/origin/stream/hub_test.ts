import assert from "node:assert/strict";
import type { FlvTag } from "../../../codec/flv/types.ts";
import { silentLogger } from "../../../origin/log.ts";
import type { HubOptions, Viewer } from "../../../origin/stream/hub.ts";
import {
  StreamBusyError,
  StreamRegistry,
} from "../../../origin/stream/registry.ts";

// A test encoder that makes each tag's bytes visible: [type, timestamp low byte, ...data].
const enc = {
  header: () => new Uint8Array([0xff]),
  tag: (t: FlvTag) => new Uint8Array([t.type, t.timestampMs & 0xff, ...t.data]),
};

function options(over: Partial<HubOptions> = {}): HubOptions {
  return {
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: enc, rtmp: enc },
    log: silentLogger,
    ...over,
  };
}

const avcConfig: FlvTag = {
  type: 9,
  timestampMs: 0,
  data: new Uint8Array([0x17, 0, 0, 0, 0]),
};
const aacConfig: FlvTag = {
  type: 8,
  timestampMs: 0,
  data: new Uint8Array([0xaf, 0]),
};
const meta: FlvTag = { type: 18, timestampMs: 0, data: new Uint8Array([2]) };
const key = (ts: number): FlvTag => ({
  type: 9,
  timestampMs: ts,
  data: new Uint8Array([0x17, 1, 0, 0, 0, 0xaa]),
});
const inter = (ts: number): FlvTag => ({
  type: 9,
  timestampMs: ts,
  data: new Uint8Array([0x27, 1, 0, 0, 0, 0xbb]),
});
const audio = (ts: number): FlvTag => ({
  type: 8,
  timestampMs: ts,
  data: new Uint8Array([0xaf, 1, 0xcc]),
});

class TestViewer implements Viewer {
  chunks: Uint8Array[] = [];
  closed: string | undefined;
  constructor(
    readonly format: "flv" | "rtmp" = "flv",
    readonly cap = Infinity,
    readonly id = "test",
  ) {}
  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.byteLength, 0);
  }
  write(b: Uint8Array): boolean {
    this.chunks.push(b);
    return this.bytes <= this.cap;
  }
  close(reason: string): void {
    this.closed = reason;
  }
  /** Tag timestamps seen, from the test encoding (skips the header byte). */
  timestamps(): number[] {
    const out: number[] = [];
    for (const c of this.chunks) {
      let i = 0;
      if (c[0] === 0xff) i = 1;
      while (i < c.length) {
        const type = c[i]!;
        out.push(c[i + 1]!);
        i += 2 +
          (type === 18
            ? 1
            : type === 8
            ? (c[i + 3] === 0 ? 2 : 3)
            : c[i + 3] === 0
            ? 5
            : 6);
      }
    }
    return out;
  }
}

Deno.test("Hub.addViewer() sends header, metadata and sequence headers in one write, then the cached GOP's shared buffers", () => {
  const reg = new StreamRegistry(options());
  const hub = reg.startPublish("live", "t", { peer: "p", protocol: "test" });
  for (
    const t of [
      meta,
      avcConfig,
      aacConfig,
      key(10),
      audio(11),
      inter(12),
      key(20),
      audio(21),
      inter(22),
    ]
  ) hub.pushTag(t);
  const v = new TestViewer();
  const w = new TestViewer();
  hub.addViewer(v);
  hub.addViewer(w);
  assert.equal(
    v.chunks.length,
    4,
    "the viewer's head, then the GOP's three tags",
  );
  assert.equal(
    v.chunks[1],
    w.chunks[1],
    "the cached GOP is shared, not copied",
  );
  const b = v.chunks[0]!;
  assert.equal(b[0], 0xff, "format header first");
  assert.deepEqual(
    [...b.subarray(1, 4)],
    [18, 0, 2],
    "metadata at timestamp 0",
  );
  assert.deepEqual(
    v.timestamps(),
    [0, 20, 20, 20, 21, 22],
    "config tags then the last GOP only",
  );
});

Deno.test("Hub coalesces tags into one shared buffer per flush for every viewer", () => {
  const reg = new StreamRegistry(options({ flushIntervalMs: 1000 }));
  const hub = reg.startPublish("live", "t", { peer: "p", protocol: "test" });
  hub.pushTag(avcConfig);
  hub.pushTag(key(1));
  const a = new TestViewer();
  const b = new TestViewer();
  hub.addViewer(a);
  hub.addViewer(b);
  hub.pushTag(inter(2));
  hub.pushTag(audio(3));
  assert.equal(a.chunks.length, 2, "nothing written before the flush");
  hub.flush();
  assert.equal(a.chunks.length, 3);
  assert.equal(
    a.chunks[2],
    b.chunks[2],
    "the same Uint8Array is shared by both viewers",
  );
  assert.deepEqual(a.timestamps(), [1, 1, 2, 3]);
  hub.end();
});

Deno.test("Hub drops a viewer over its queue cap and keeps serving the others", () => {
  const reg = new StreamRegistry(options());
  const hub = reg.startPublish("live", "t", { peer: "p", protocol: "test" });
  hub.pushTag(key(1));
  const slow = new TestViewer("flv", 20);
  const fast = new TestViewer("flv");
  hub.addViewer(slow);
  hub.addViewer(fast);
  for (let i = 2; i < 10; i++) hub.pushTag(inter(i));
  assert.match(slow.closed ?? "", /slow viewer/);
  assert.equal(fast.closed, undefined);
  assert.equal(hub.viewerCount, 1);
  assert.deepEqual(fast.timestamps(), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("Hub without a GOP cache starts new viewers on the next keyframe", () => {
  const reg = new StreamRegistry(options({ gopCache: false }));
  const hub = reg.startPublish("live", "t", { peer: "p", protocol: "test" });
  hub.pushTag(avcConfig);
  hub.pushTag(key(1));
  hub.pushTag(inter(2));
  const v = new TestViewer();
  hub.addViewer(v);
  hub.pushTag(inter(3));
  hub.pushTag(key(4));
  hub.pushTag(inter(5));
  assert.deepEqual(
    v.timestamps(),
    [0, 4, 5],
    "sequence header, then from the keyframe on",
  );
});

Deno.test("Hub.end() closes viewers cleanly and frees the key; a second publisher is refused while live", () => {
  const reg = new StreamRegistry(options());
  const hub = reg.startPublish("live", "t", { peer: "p", protocol: "test" });
  assert.throws(
    () => reg.startPublish("live", "t", { peer: "q", protocol: "test" }),
    StreamBusyError,
  );
  const v = new TestViewer("rtmp");
  hub.addViewer(v);
  hub.end();
  assert.equal(v.closed, "stream ended");
  assert.equal(reg.get("live", "t"), undefined);
  const again = reg.startPublish("live", "t", { peer: "q", protocol: "test" });
  assert.notEqual(again, hub);
  again.end();
});

Deno.test("Hub listeners see every tag in order and the end", () => {
  const reg = new StreamRegistry(options());
  const seen: number[] = [];
  let ended = false;
  reg.onPublish((h) =>
    h.addListener({
      onTag: (t) => seen.push(t.timestampMs),
      onEnd: () => (ended = true),
    })
  );
  const hub = reg.startPublish("live", "t", { peer: "p", protocol: "test" });
  hub.pushTag(key(1));
  hub.pushTag(audio(2));
  hub.end();
  assert.deepEqual(seen, [1, 2]);
  assert.ok(ended);
  assert.deepEqual(hub.codecs, { video: "avc", audio: "aac" });
});

Deno.test("Hub.breakSource(): viewers stay and get the new source's sequence headers, late joiners get no stale GOP, listeners are told", () => {
  const reg = new StreamRegistry(options());
  const breaks: string[] = [];
  reg.onPublish((h) =>
    h.addListener({
      onTag: (t) => breaks.push(`tag${t.timestampMs}`),
      onEnd: () => breaks.push("end"),
      onBreak: () => breaks.push("break"),
    })
  );
  const hub = reg.startPublish("live", "t", { peer: "p", protocol: "relay" });
  for (const t of [avcConfig, aacConfig, key(10), inter(12)]) hub.pushTag(t);
  const stays = new TestViewer();
  hub.addViewer(stays);
  hub.breakSource();
  assert.equal(stays.closed, undefined, "the viewer stays connected");
  const late = new TestViewer();
  hub.addViewer(late);
  assert.deepEqual(
    late.timestamps(),
    [0, 0],
    "config only: the old GOP is gone",
  );
  // The new source: its sequence headers again, then a keyframe.
  for (
    const t of [{ ...avcConfig, timestampMs: 52 }, key(52), inter(60)]
  ) hub.pushTag(t);
  assert.deepEqual(stays.timestamps(), [10, 10, 10, 12, 52, 52, 60]);
  assert.deepEqual(late.timestamps(), [0, 0, 52, 60], "waits for the keyframe");
  assert.deepEqual(breaks.slice(4), ["break", "tag52", "tag52", "tag60"]);
  hub.end();
  hub.breakSource(); // after the end: nothing
  assert.equal(breaks.at(-1), "end");
});
