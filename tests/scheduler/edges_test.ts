import assert from "node:assert/strict";
import { ConfigEdgeSource, StreamTable } from "../../scheduler/edges.ts";
import { streamKey } from "../../store/mod.ts";
import { testConfig } from "./_fixtures.ts";

const A = streamKey("live", "a");
const B = streamKey("live", "b");

Deno.test("StreamTable indexes holders by stream; its version moves only on membership or a power-of-two viewer change", () => {
  const t = new StreamTable();
  const v0 = t.version;
  assert.equal(
    t.update([
      { id: "fra1", streams: [{ key: A, viewers: 5 }, { key: B, viewers: 1 }] },
      { id: "ams1", streams: [{ key: A, viewers: 2 }] },
      { id: "bad", streams: "junk" },
    ]),
    true,
  );
  assert.deepEqual([...t.holders(A)!], [["fra1", 5], ["ams1", 2]]);
  assert.equal(t.holders(streamKey("live", "none")), undefined);
  const v1 = t.version;
  assert.ok(v1 > v0);
  // 5 → 7 viewers: the same bucket (4-7), no new version; 7 → 8 crosses it.
  assert.equal(
    t.update([
      { id: "fra1", streams: [{ key: A, viewers: 7 }, { key: B, viewers: 1 }] },
      { id: "ams1", streams: [{ key: A, viewers: 3 }] },
    ]),
    false,
  );
  assert.equal(t.version, v1);
  assert.equal(t.holders(A)!.get("fra1"), 7, "counts are current anyway");
  assert.equal(
    t.update([
      { id: "fra1", streams: [{ key: A, viewers: 8 }, { key: B, viewers: 1 }] },
      { id: "ams1", streams: [{ key: A, viewers: 3 }] },
    ]),
    true,
  );
  // A stream stopping on an edge is a change too.
  assert.equal(
    t.update([{ id: "fra1", streams: [{ key: A, viewers: 8 }] }]),
    true,
  );
  assert.equal(t.holders(B), undefined);
});

Deno.test("ConfigEdgeSource.setStreams() feeds its stream index, for known edges only", () => {
  const s = new ConfigEdgeSource(testConfig());
  assert.equal(s.setStreams("nope", [{ key: A, viewers: 1 }]), false);
  assert.equal(s.setStreams("fra1", [{ key: A, viewers: 1 }]), true);
  assert.equal(s.setStreams("sin1", [{ key: A, viewers: 4 }]), true);
  assert.deepEqual([...s.streams.holders(A)!.keys()].sort(), ["fra1", "sin1"]);
});
