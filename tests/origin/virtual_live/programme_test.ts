import assert from "node:assert/strict";
import { Programme } from "../../../origin/virtual_live/programme.ts";

const at = (h: number, m = 0, day = 1) => Date.UTC(2024, 5, day, h, m);

Deno.test("Programme.next() plays the playlist in order and counts each completed pass", () => {
  const p = new Programme({
    playlist: ["a.mp4", "b.mp4", "c.flv"],
    loop: true,
    schedule: [],
    timeZone: "UTC",
  }, at(12));
  const files: string[] = [];
  const loops: number[] = [];
  for (let i = 0; i < 7; i++) {
    const item = p.next(at(12, i))!;
    assert.equal(item.source, "playlist");
    files.push(item.file);
    loops.push(p.loops);
  }
  assert.deepEqual(files, [
    "a.mp4",
    "b.mp4",
    "c.flv",
    "a.mp4",
    "b.mp4",
    "c.flv",
    "a.mp4",
  ]);
  assert.deepEqual(loops, [0, 0, 0, 1, 1, 1, 2]);
});

Deno.test("Programme.next() ends a non-looping playlist after its last item", () => {
  const p = new Programme({
    playlist: ["a.mp4", "b.mp4"],
    loop: false,
    schedule: [],
    timeZone: "UTC",
  }, at(12));
  assert.equal(p.next(at(12))?.file, "a.mp4");
  assert.equal(p.playlistDone, false);
  assert.equal(p.next(at(12, 1))?.file, "b.mp4");
  assert.equal(p.next(at(12, 2)), undefined);
  assert.equal(p.playlistDone, true);
  assert.equal(p.loops, 0);
  // A replacement plays from its first item.
  p.replacePlaylist(["c.flv"], false);
  assert.equal(p.next(at(12, 3))?.file, "c.flv");
});

Deno.test("Programme.next() takes a slot once it is due, then resumes the playlist at the next item", () => {
  const p = new Programme({
    playlist: ["a.mp4", "b.mp4", "c.flv"],
    loop: true,
    schedule: [{ at: "20:00", file: "news.mp4" }, {
      at: "21:30",
      file: "film.mp4",
    }],
    timeZone: "Asia/Shanghai", // 20:00 there is 12:00 UTC
  }, at(11));
  assert.equal(p.next(at(11))?.file, "a.mp4");
  const slot = p.nextSlotAfter(at(11))!;
  assert.equal(slot.startMs, at(12));
  assert.equal(slot.slot.file, "news.mp4");
  // Before the slot: the playlist. At or after it: the slot, once.
  assert.equal(p.next(at(11, 59))?.file, "b.mp4");
  const news = p.next(at(12, 0))!;
  assert.deepEqual(news, {
    source: "schedule",
    file: "news.mp4",
    index: 0,
    dueMs: at(12),
  });
  assert.equal(p.next(at(12, 20))?.file, "c.flv");
  assert.equal(p.nextSlotAfter(at(12, 20))?.startMs, at(13, 30));
  // A slot missed while one item played long is passed over for the latest due one.
  const p2 = new Programme({
    playlist: ["a.mp4"],
    loop: true,
    schedule: [{ at: "12:00", file: "x.mp4" }, { at: "12:10", file: "y.mp4" }],
    timeZone: "UTC",
  }, at(11));
  p2.next(at(11));
  assert.equal(p2.next(at(12, 15))?.file, "y.mp4");
  assert.equal(p2.next(at(12, 16))?.file, "a.mp4");
});

Deno.test("Programme does not play a slot that was due before the channel started, and finds tomorrow's", () => {
  const p = new Programme({
    playlist: ["a.mp4"],
    loop: true,
    schedule: [{ at: "08:00", file: "morning.mp4" }],
    timeZone: "UTC",
  }, at(9));
  assert.equal(p.next(at(9))?.file, "a.mp4");
  assert.equal(p.next(at(10))?.file, "a.mp4");
  const slot = p.nextSlotAfter(at(10))!;
  assert.equal(
    new Date(slot.startMs).toISOString(),
    "2024-06-02T08:00:00.000Z",
  );
  assert.equal(p.next(at(8, 0, 2))?.file, "morning.mp4");
});

Deno.test("Programme.slotsOfDay() lists the local day's slots in time order", () => {
  const p = new Programme({
    playlist: ["a.mp4"],
    loop: true,
    schedule: [{ at: "23:30", file: "late.mp4" }, {
      at: "06:00",
      file: "early.mp4",
    }],
    timeZone: "America/New_York",
  }, at(12));
  const slots = p.slotsOfDay(at(12)); // 08:00 in New York on 1 June
  assert.deepEqual(slots.map((s) => s.slot.file), ["early.mp4", "late.mp4"]);
  assert.deepEqual(slots.map((s) => new Date(s.startMs).toISOString()), [
    "2024-06-01T10:00:00.000Z",
    "2024-06-02T03:30:00.000Z",
  ]);
  assert.deepEqual(p.schedule, [
    { at: "23:30", file: "late.mp4" },
    { at: "06:00", file: "early.mp4" },
  ]);
});

Deno.test("Programme.peekPlaylist() shows the next playlist item without taking it", () => {
  const p = new Programme({
    playlist: ["a.mp4", "b.mp4"],
    loop: true,
    schedule: [],
    timeZone: "UTC",
  }, at(12));
  p.next(at(12));
  p.next(at(12));
  assert.equal(p.peekPlaylist()?.file, "a.mp4");
  assert.equal(p.loops, 0);
  assert.equal(p.next(at(12))?.file, "a.mp4");
  assert.equal(p.loops, 1);
});
