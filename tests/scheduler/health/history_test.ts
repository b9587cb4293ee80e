import assert from "node:assert/strict";
import {
  edgeHealthState,
  HealthHistory,
  timelineSegments,
} from "../../../scheduler/health/history.ts";

Deno.test("HealthHistory.observe() keeps changes only, bounded per edge", () => {
  const h = new HealthHistory(3);
  h.observe("a", "up", 0);
  h.observe("a", "up", 1);
  h.observe("a", "down", 2, "HTTP 503");
  h.observe("a", "up", 3, "ignored when up");
  h.observe("a", "draining", 4);
  assert.deepEqual(h.transitions("a"), [
    { atMs: 2, state: "down", error: "HTTP 503" },
    { atMs: 3, state: "up", error: "" },
    { atMs: 4, state: "draining", error: "" },
  ]);
  assert.deepEqual(h.transitions("b"), []);
  h.retain(new Set(["b"]));
  assert.deepEqual(h.transitions("a"), []);
});

Deno.test("timelineSegments() covers the span: the state in force, then each transition", () => {
  const t = [
    { atMs: 100, state: "up" as const, error: "" },
    { atMs: 500, state: "down" as const, error: "x" },
    { atMs: 800, state: "up" as const, error: "" },
  ];
  assert.deepEqual(timelineSegments(t, 0, 1000), [
    { state: "unknown", fromMs: 0, toMs: 100 },
    { state: "up", fromMs: 100, toMs: 500 },
    { state: "down", fromMs: 500, toMs: 800 },
    { state: "up", fromMs: 800, toMs: 1000 },
  ]);
  assert.deepEqual(timelineSegments(t, 600, 700), [
    { state: "down", fromMs: 600, toMs: 700 },
  ]);
  assert.deepEqual(timelineSegments([], 0, 10), [
    { state: "unknown", fromMs: 0, toMs: 10 },
  ]);
  assert.equal(edgeHealthState(true, true), "draining");
  assert.equal(edgeHealthState(false, false), "down");
});
