/** The scheduler's config section (config/scheduler_schema.ts, owned by the scheduler). */
import assert from "node:assert/strict";
import {
  SCHEDULER_CONSTRAINTS,
  SCHEDULER_DEFAULTS,
} from "../../config/scheduler_schema.ts";
import { Authority } from "../../scheduler/zone.ts";

Deno.test("SCHEDULER_DEFAULTS pass SCHEDULER_CONSTRAINTS and parse into zones", () => {
  const get = (path: string) => {
    let v: unknown = { scheduler: SCHEDULER_DEFAULTS };
    for (const seg of path.split(".")) {
      v = (Array.isArray(v) ? v[0] : v as Record<string, unknown>)[
        seg.replace("[]", "")
      ];
    }
    return Array.isArray(v) && path.endsWith("[]") ? v[0] : v;
  };
  for (const [key, check] of Object.entries(SCHEDULER_CONSTRAINTS)) {
    assert.ok(key.startsWith("scheduler."), key);
    const list = key.includes("[].")
      ? get(key.slice(0, key.indexOf("[]"))) as Record<string, unknown>[]
      : undefined;
    if (list?.length === 0) continue; // an empty default list has no item to check
    const value = list ? list[0]![key.slice(key.indexOf("[].") + 3)] : get(key);
    assert.equal(check(value), undefined, key);
  }
  const a = Authority.fromConfig(SCHEDULER_DEFAULTS);
  assert.equal(a.zones[0]!.apex, "meridian.test");
  assert.equal(a.lookup("live.meridian.test").kind, "node");
  assert.equal(
    SCHEDULER_CONSTRAINTS["scheduler.dnsPort"]!(70000),
    "an integer 0..65535",
  );
});
