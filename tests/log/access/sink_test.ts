import assert from "node:assert/strict";
import { LineSink, type LineWriter } from "../../../log/access/mod.ts";
import { waitFor } from "../../_helpers/peers.ts";

const dec = new TextDecoder();

/** A destination whose writes wait until the test lets them go (a slow disk). */
function slowDisk() {
  const written: string[] = [];
  let release: (() => void) | undefined;
  let gate = new Promise<void>((r) => release = r);
  let calls = 0;
  const writer: LineWriter = {
    async write(b) {
      calls++;
      await gate;
      written.push(dec.decode(b));
      return b.length;
    },
    close() {},
  };
  return {
    writer,
    written,
    get calls() {
      return calls;
    },
    open() {
      release!();
    },
    shut() {
      gate = new Promise<void>((r) => release = r);
    },
  };
}

Deno.test("LineSink.write() never waits on a stalled destination: the buffer is bounded, drops are counted", async () => {
  const disk = slowDisk();
  const sink = await LineSink.open(() => Promise.resolve(disk.writer), {
    maxBufferedBytes: 100,
  });
  // The first line goes into the one write in flight, which stalls.
  sink.write("first");
  await waitFor("the first write to start", () => disk.calls === 1);
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) sink.write(`line-${String(i).padStart(3, "0")}`);
  const tookMs = performance.now() - t0;
  assert.ok(tookMs < 50, `50 writes took ${tookMs} ms`);
  // 100 bytes hold 11 lines of 9 bytes (8 + newline); the rest are dropped.
  assert.equal(sink.buffered.lines, 11);
  assert.equal(sink.stats.dropped, 39);
  disk.open();
  await sink.close();
  assert.equal(disk.calls, 2, "the buffered lines go out in one write");
  assert.equal(disk.written[0], "first\n");
  assert.equal(
    disk.written[1],
    Array.from({ length: 11 }, (_, i) => `line-${String(i).padStart(3, "0")}\n`)
      .join(""),
  );
  assert.equal(sink.stats.written, 12);
});

Deno.test("LineSink: a failing destination drops its batch, counts one error a write, and recovers", async () => {
  let fail = true;
  const got: string[] = [];
  const errors: string[] = [];
  const sink = await LineSink.open(() =>
    Promise.resolve({
      write: (b: Uint8Array) => {
        if (fail) return Promise.reject(new Error("No space left on device"));
        got.push(dec.decode(b));
        return Promise.resolve(b.length);
      },
      close() {},
    }), { onError: (m, e) => errors.push(`${m}: ${(e as Error).message}`) });
  sink.write("a");
  await waitFor("the failure", () => sink.stats.errors === 1);
  sink.write("b");
  await waitFor("the second failure", () => sink.stats.errors === 2);
  assert.deepEqual(errors, [
    "access log write failed: No space left on device",
  ]);
  fail = false;
  sink.write("c");
  await sink.close();
  assert.deepEqual(got, ["c\n"]);
  assert.deepEqual(
    { ...sink.stats },
    { written: 1, dropped: 2, errors: 2, reopens: 0 },
  );
});

Deno.test("LineSink.reopen() switches destination after the write in flight, losing no line", async () => {
  const first = slowDisk();
  const second: string[] = [];
  let opens = 0;
  let closedFirst = false;
  const sink = await LineSink.open(() => {
    opens++;
    return Promise.resolve(
      opens === 1 ? { ...first.writer, close: () => closedFirst = true } : {
        write: (
          b: Uint8Array,
        ) => (second.push(dec.decode(b)), Promise.resolve(b.length)),
        close() {},
      },
    );
  });
  sink.write("before");
  await waitFor("the write in flight", () => first.calls === 1);
  sink.reopen();
  sink.write("after");
  first.open();
  await sink.close();
  assert.deepEqual(first.written, ["before\n"]);
  assert.deepEqual(second, ["after\n"]);
  assert.ok(closedFirst);
  assert.equal(sink.stats.reopens, 1);
});
