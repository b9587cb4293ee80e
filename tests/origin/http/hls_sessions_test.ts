import assert from "node:assert/strict";
import {
  HlsSessions,
  MAX_HLS_CLIENTS,
  MIN_HLS_WINDOW_MS,
} from "../../../origin/http/hls_sessions.ts";

Deno.test("HlsSessions counts a client once per stream while it keeps reloading, by app", () => {
  let now = 0;
  const s = new HlsSessions(6_000, () => now);
  for (let t = 0; t < 60_000; t += 2_000) {
    now = t;
    s.seen("live", "a", "10.0.0.1 hls.js");
    s.seen("live", "a", "10.0.0.2 hls.js");
    s.seen("tv", "b", "cred-1");
  }
  assert.deepEqual(Object.fromEntries(s.countByApp()), { live: 2, tv: 1 });
  // One client stops; the window (at least MIN_HLS_WINDOW_MS) lets it go.
  for (let t = 60_000; t <= 60_000 + MIN_HLS_WINDOW_MS + 2_000; t += 2_000) {
    now = t;
    s.seen("live", "a", "10.0.0.1 hls.js");
  }
  assert.deepEqual(Object.fromEntries(s.countByApp()), { live: 1 });
});

Deno.test("HlsSessions stays within MAX_HLS_CLIENTS whatever the number of clients", () => {
  let now = 0;
  const s = new HlsSessions(10_000, () => now);
  for (let i = 0; i < MAX_HLS_CLIENTS + 500; i++) s.seen("live", "a", `c${i}`);
  assert.equal(s.countByApp().get("live"), MAX_HLS_CLIENTS);
  now = 20_000; // all expired: new clients count again
  s.seen("live", "a", "late");
  assert.equal(s.countByApp().get("live"), 1);
});
