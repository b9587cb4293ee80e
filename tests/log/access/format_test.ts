import assert from "node:assert/strict";
import {
  formatDns,
  formatHttp,
  formatRtmp,
  type HttpAccessRecord,
  MAX_LOGGED_TEXT,
} from "../../../log/access/mod.ts";
import { parseCombinedLine } from "../../_helpers/access_lines.ts";
import { createPrng } from "../../_helpers/prng.ts";

const HIT: HttpAccessRecord = {
  time: Date.UTC(2026, 0, 2, 3, 4, 5, 600),
  client: "192.0.2.7",
  method: "GET",
  target: "/live/cam1.m3u8?token=SECRET1&start=5",
  protocol: "HTTP/1.1",
  status: 200,
  bytes: 1234,
  durationSeconds: 0.0012345678,
  ttfbSeconds: 0.0004,
  cache: "hit",
  userAgent: 'VLC/3 "quoted" \\ back',
  referer: "https://site.example/player?cred=SECRET2&x=1",
  completed: true,
};

Deno.test("formatHttp() json: every field, durations in seconds, secrets redacted", () => {
  const o = JSON.parse(formatHttp(HIT, "json", "edge"));
  assert.deepEqual(o, {
    time: "2026-01-02T03:04:05.600Z",
    type: "http",
    role: "edge",
    client: "192.0.2.7",
    method: "GET",
    path: "/live/cam1.m3u8?token=<redacted>&start=5",
    protocol: "HTTP/1.1",
    status: 200,
    bytes: 1234,
    durationSeconds: 0.001235,
    ttfbSeconds: 0.0004,
    cache: "hit",
    userAgent: 'VLC/3 "quoted" \\ back',
    referer: "https://site.example/player?cred=<redacted>&x=1",
  });
  const cut = JSON.parse(
    formatHttp(
      { ...HIT, completed: false, cache: undefined },
      "json",
      "origin",
    ),
  );
  assert.equal(cut.completed, false);
  assert.equal("cache" in cut, false);
});

Deno.test("formatHttp() combined: nginx's fields in order, then rt/ttfb/cache; parses back", () => {
  const line = formatHttp(HIT, "combined", "edge");
  assert.ok(!line.includes("SECRET"), line);
  const p = parseCombinedLine(line);
  assert.equal(p.client, "192.0.2.7");
  assert.equal(p.time, "02/Jan/2026:03:04:05 +0000");
  assert.equal(
    p.request,
    "GET /live/cam1.m3u8?token=<redacted>&start=5 HTTP/1.1",
  );
  assert.equal(p.status, "200");
  assert.equal(p.bytes, "1234");
  assert.equal(p.referer, "https://site.example/player?cred=<redacted>&x=1");
  assert.equal(p.userAgent, 'VLC/3 "quoted" \\ back');
  assert.deepEqual(p.extra, { rt: "0.001235", ttfb: "0.0004", cache: "hit" });
  const bare = parseCombinedLine(
    formatHttp(
      { ...HIT, userAgent: undefined, referer: undefined },
      "combined",
      "edge",
    ),
  );
  assert.equal(bare.userAgent, "-");
  assert.equal(bare.referer, "-");
});

Deno.test("formatHttp(): a client's control characters and huge fields cannot break or bloat a line", () => {
  const evil = {
    ...HIT,
    target: `/x\n127.0.0.1 - - [forged]?${"a".repeat(10_000)}`,
    userAgent: "a\r\nb\u0000c",
  };
  for (const format of ["json", "combined"] as const) {
    const line = formatHttp(evil, format, "edge");
    assert.ok(
      !line.includes("\n") && !line.includes("\r") && !line.includes("\0"),
      format,
    );
    assert.ok(line.length < 3 * MAX_LOGGED_TEXT, `${format}: ${line.length}`);
  }
  const p = parseCombinedLine(formatHttp(evil, "combined", "edge"));
  assert.equal(p.userAgent, "a\r\nb\u0000c");
});

Deno.test("formatRtmp() and formatDns(): sessions and queries in both forms, secrets redacted", () => {
  const rtmp = {
    time: HIT.time,
    client: "192.0.2.8",
    kind: "publish" as const,
    app: "live",
    stream: "cam1?key=PUBKEY",
    durationSeconds: 12.5,
    bytesIn: 9000,
    bytesOut: 300,
    reason: "peer closed the connection",
  };
  const j = JSON.parse(formatRtmp(rtmp, "json", "origin"));
  assert.equal(j.type, "rtmp");
  assert.equal(j.stream, "cam1?key=<redacted>");
  assert.equal(j.bytesIn, 9000);
  const c = parseCombinedLine(formatRtmp(rtmp, "combined", "origin"));
  assert.equal(c.request, "PUBLISH /live/cam1?key=<redacted> RTMP");
  assert.equal(c.bytes, "300");
  assert.deepEqual(c.extra, {
    rt: "12.5",
    in: "9000",
    reason: "peer closed the connection",
  });

  const dns = {
    time: HIT.time,
    client: "192.0.2.9",
    transport: "udp" as const,
    qname: "live.meridian.test.",
    qtype: "A",
    rcode: "NOERROR",
    ecs: "198.51.100.0/24",
    answers: 2,
    durationSeconds: 0.00002,
  };
  assert.equal(
    JSON.parse(formatDns(dns, "json", "scheduler")).rcode,
    "NOERROR",
  );
  const d = parseCombinedLine(formatDns(dns, "combined", "scheduler"));
  assert.equal(d.request, "QUERY live.meridian.test. A UDP");
  assert.equal(d.status, "NOERROR");
  assert.equal(d.bytes, "2");
  assert.equal(d.extra.ecs, "198.51.100.0/24");
});

Deno.test("formatHttp() json: the hand-written line is valid JSON holding each field as given (seeded fuzz)", () => {
  const next = createPrng(2024);
  const alphabet = 'aZ09/?&=%"\\\n\t\u0000\u2028\u00e9\u4e2d<>{} ';
  const text = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[next() % alphabet.length];
    return s;
  };
  for (let i = 0; i < 500; i++) {
    const r: HttpAccessRecord = {
      ...HIT,
      time: 1_700_000_000_000 + next(),
      target: `/${text(next() % 20)}`,
      userAgent: next() % 3 === 0 ? undefined : text(next() % 30),
      referer: next() % 2 === 0 ? undefined : text(next() % 10),
      cache: next() % 2 === 0 ? undefined : "miss",
      ttfbSeconds: next() % 2 === 0 ? undefined : (next() % 1000) / 1e6,
      completed: next() % 4 !== 0,
    };
    const line = formatHttp(r, "json", "edge");
    assert.ok(!line.includes("\n"), line);
    const o = JSON.parse(line);
    assert.equal(o.time, new Date(r.time).toISOString());
    // No secret parameter name or URL password can be spelled in this alphabet: every text
    // field comes back exactly as given.
    assert.equal(o.path, r.target);
    assert.equal(o.userAgent, r.userAgent);
    assert.equal(o.referer, r.referer);
    assert.equal(o.ttfbSeconds, r.ttfbSeconds);
    assert.equal(o.cache, r.cache);
    assert.equal(o.completed, r.completed ? undefined : false);
    assert.equal(o.status, 200);
  }
});
