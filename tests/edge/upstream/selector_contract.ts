/** The contract every `OriginSelector` meets (STYLE.md B8). */
import assert from "node:assert/strict";
import type {
  Origin,
  OriginHealthView,
  OriginSelector,
} from "../../../edge/upstream/select.ts";

/** A settable health view. */
export class FakeHealth implements OriginHealthView {
  down = new Set<string>();
  factors = new Map<string, number>();
  isUp(id: string): boolean {
    return !this.down.has(id);
  }
  weightFactor(id: string): number {
    return this.isUp(id) ? this.factors.get(id) ?? 1 : 0;
  }
}

export const ORIGINS: Origin[] = [
  { id: "http://a", url: "http://a", weight: 3, region: "" },
  { id: "http://b", url: "http://b", weight: 1, region: "" },
  { id: "http://c", url: "http://c", weight: 1, region: "" },
];

/** Registers the selector contract tests. */
export function runSelectorContract(
  name: string,
  factory: (origins: Origin[], health: OriginHealthView) => OriginSelector,
): void {
  Deno.test(`${name}: answers only configured origins, never excluded ones`, () => {
    const s = factory(ORIGINS, new FakeHealth());
    const ids = new Set(ORIGINS.map((o) => o.id));
    for (let i = 0; i < 100; i++) {
      const o = s.select(new Set(["http://a"]))!;
      assert.ok(ids.has(o.id));
      assert.notEqual(o.id, "http://a");
    }
    assert.equal(s.select(new Set(ids)), undefined);
  });

  Deno.test(`${name}: prefers up origins and fails open when all are down`, () => {
    const h = new FakeHealth();
    const s = factory(ORIGINS, h);
    h.down.add("http://a");
    h.down.add("http://b");
    for (let i = 0; i < 20; i++) assert.equal(s.select()!.id, "http://c");
    h.down.add("http://c");
    assert.ok(s.select(), "all down: still answers");
  });

  Deno.test(`${name}: spreads load in proportion to weight when all are healthy`, () => {
    const s = factory(ORIGINS, new FakeHealth());
    const n = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      const id = s.select()!.id;
      n.set(id, (n.get(id) ?? 0) + 1);
    }
    assert.equal(n.get("http://a"), 300);
    assert.equal(n.get("http://b"), 100);
    assert.equal(n.get("http://c"), 100);
  });

  Deno.test(`${name}: is deterministic for a given health view`, () => {
    const run = () => {
      const s = factory(ORIGINS, new FakeHealth());
      return Array.from({ length: 20 }, () => s.select()!.id).join(",");
    };
    assert.equal(run(), run());
  });
}
