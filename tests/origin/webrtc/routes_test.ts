/**
 * The WHEP/WHIP routes on a real origin with real WebRTC peers on loopback (werift as the
 * client): each bad request gets its own status and one log line while a viewer keeps
 * playing; limits (503), busy streams (409), DELETE, PATCH, an answered offer whose client
 * never connects, keyframe requests to a WHIP publisher, and werift loaded only on demand.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../../config/mod.ts";
import { createLogger } from "../../../log/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { startOrigin } from "../../../origin/mod.ts";
import { weriftLoaded } from "../../../origin/webrtc/mod.ts";
import { WhepSender } from "../../../origin/webrtc/whep_sender.ts";
import { waitFor } from "../../_helpers/peers.ts";
import {
  aacConfigTag,
  avcConfigTag,
  videoTag,
} from "../../_helpers/synth_flv.ts";
import { whepPlay, whipPublish } from "../../_helpers/webrtc_peer.ts";
import { chromiumOffer, vp8Offer } from "./_fixtures.ts";

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function startTestOrigin(webrtc: Record<string, unknown>) {
  const lines: Record<string, unknown>[] = [];
  const metrics = new MetricsRegistry();
  const config = parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      virtualLive: [],
      srt: { enabled: false },
      rtsp: { enabled: false },
      webrtc,
    },
  });
  const origin = await startOrigin(config.origin, {
    log: createLogger("origin", {
      format: "json",
      write: (l) => lines.push(JSON.parse(l)),
    }),
    metrics,
  });
  const http = `http://127.0.0.1:${origin.httpPort}`;
  /** A synthetic H.264 (+ AAC header) publisher at 25 fps, a keyframe a second. */
  const publish = (stream: string) => {
    const hub = origin.registry.startPublish("live", stream, {
      peer: "test",
      protocol: "rtmp",
    });
    hub.pushTag(avcConfigTag(0));
    hub.pushTag(aacConfigTag(0));
    let i = 0;
    const timer = setInterval(() => {
      hub.pushTag(videoTag(i * 40, i % 25 === 0));
      i++;
    }, 40);
    return {
      hub,
      stop() {
        clearInterval(timer);
        hub.end();
      },
    };
  };
  const metricsText = async () => await (await fetch(`${http}/metrics`)).text();
  return { origin, http, lines, publish, metricsText };
}

async function send(
  url: string,
  init: RequestInit,
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

const sdp = (body: string, type = "application/sdp") => ({
  method: "POST",
  headers: { "Content-Type": type },
  body,
});

Deno.test({
  name:
    "webrtc routes: each bad offer gets its status and one log line; the playing viewer goes on; limits, PATCH, DELETE",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const t = await startTestOrigin({
      icePortMin: 26200,
      icePortMax: 26299,
      maxSessions: 2,
      connectTimeoutMs: 1000,
    });
    const pub = t.publish("s");
    const players: { close(): Promise<void> }[] = [];
    try {
      // Nothing of werift is loaded before the first offer.
      assert.equal(weriftLoaded(), false);

      const viewer = await whepPlay(`${t.http}/live/s/whep`);
      players.push(viewer);
      assert.equal(viewer.answer.status, 201);
      assert.match(
        viewer.answer.location ?? "",
        /^\/live\/s\/whep\/[0-9a-f]{32}$/,
      );
      assert.match(viewer.answer.note ?? "", /audio \(aac\) is not sent/);
      assert.match(
        viewer.answer.body,
        /a=candidate:.* 127\.0\.0\.1 262\d\d typ host/,
      );
      assert.match(viewer.answer.body, /a=end-of-candidates/);
      assert.equal(weriftLoaded(), true);
      await viewer.connected();
      await waitFor(
        "frames at the viewer",
        () => viewer.frames() > 5,
        10_000,
        50,
      );

      const whep = `${t.http}/live/s/whep`;
      const before = t.lines.filter((l) => l.msg === "offer refused").length;
      const cases: [string, RequestInit, number, RegExp][] = [
        [
          "wrong type",
          sdp(chromiumOffer(), "text/plain"),
          415,
          /application\/sdp/,
        ],
        [
          "too large",
          sdp("v=0\r\n" + "a=x\r\n".repeat(14_000)),
          413,
          /at most/,
        ],
        ["not SDP", sdp("hello"), 400, /Cannot parse SDP/],
        [
          "no ICE",
          sdp(chromiumOffer().replace(/a=ice-pwd:[^\r]*\r\n/, "")),
          400,
          /ICE/,
        ],
        ["VP8 only", sdp(vp8Offer()), 406, /no H\.264 \(offered: VP8, VP9\)/],
        [
          "send-only to WHEP",
          sdp(chromiumOffer("sendonly")),
          400,
          /must receive/,
        ],
      ];
      for (const [what, init, status, text] of cases) {
        const r = await send(whep, init);
        assert.equal(r.status, status, `${what}: ${r.body}`);
        assert.match(r.body, text, what);
      }
      const missing = await send(
        `${t.http}/live/none/whep`,
        sdp(chromiumOffer()),
      );
      assert.equal(missing.status, 404);
      const badName = await send(
        `${t.http}/live/a%20b/whep`,
        sdp(chromiumOffer()),
      );
      assert.equal(badName.status, 400);
      const busy = await send(
        `${t.http}/live/s/whip`,
        sdp(chromiumOffer("sendonly")),
      );
      assert.equal(busy.status, 409, busy.body);
      assert.match(busy.body, /already live/);
      const refused = t.lines.filter((l) => l.msg === "offer refused");
      assert.equal(
        refused.length - before,
        cases.length + 3,
        "one log line each",
      );
      assert.ok(refused.every((l) => typeof l.error === "string" && l.status));

      // Trickle is not taken; an unknown session is 404.
      const patch = await send(`${t.http}${viewer.answer.location}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/trickle-ice-sdpfrag" },
        body: "a=candidate:1 1 udp 1 127.0.0.1 9 typ host",
      });
      assert.equal(patch.status, 405);
      const unknown = await send(`${t.http}/live/s/whep/0123`, {
        method: "DELETE",
      });
      assert.equal(unknown.status, 404);
      const preflight = await send(whep, { method: "OPTIONS" });
      assert.equal(preflight.status, 204);
      assert.match(
        preflight.headers.get("access-control-allow-methods") ?? "",
        /POST/,
      );

      // The viewer's ICE socket is counted while it plays.
      assert.ok(
        sample(await t.metricsText(), "meridian_origin_webrtc_udp_ports") >= 1,
      );

      // The viewer played on through all of it.
      const framesBefore = viewer.frames();
      await waitFor(
        "more frames",
        () => viewer.frames() > framesBefore + 10,
        10_000,
        50,
      );

      // An answer whose client never connects is closed after connectTimeoutMs; the second
      // slot is taken meanwhile, so a third offer finds the origin full.
      const ghost = await send(whep, sdp(chromiumOffer()));
      assert.equal(ghost.status, 201, ghost.body);
      const full = await send(whep, sdp(chromiumOffer()));
      assert.equal(full.status, 503);
      assert.match(full.body, /maximum of 2 WebRTC sessions/);
      await waitFor(
        "the unconnected session to time out",
        async () =>
          sample(
            await t.metricsText(),
            'meridian_origin_webrtc_sessions_total{kind="whep",outcome="timeout"}',
          ) === 1,
        10_000,
        200,
      );

      // DELETE ends the viewer's session.
      const del = await send(`${t.http}${viewer.answer.location}`, {
        method: "DELETE",
      });
      assert.equal(del.status, 200);
      const m = await t.metricsText();
      assert.equal(
        sample(m, 'meridian_origin_webrtc_sessions{kind="whep"}'),
        0,
      );
      assert.equal(
        sample(
          m,
          'meridian_origin_webrtc_sessions_total{kind="whep",outcome="ok"}',
        ),
        1,
      );
      assert.ok(
        sample(m, 'meridian_origin_webrtc_frames_total{direction="out"}') > 15,
      );
      // Every session is gone, so every ICE socket is closed and its port free again.
      await waitFor(
        "the ICE sockets to close",
        async () =>
          sample(await t.metricsText(), "meridian_origin_webrtc_udp_ports") ===
            0,
        10_000,
        100,
      );
    } finally {
      for (const p of players) await p.close();
      pub.stop();
      await t.origin.close();
    }
  },
});

Deno.test({
  name:
    "webrtc routes: a WHIP publisher is asked for keyframes and its RTP becomes a live stream; the stream's end closes WHEP viewers",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const t = await startTestOrigin({ icePortMin: 26300, icePortMax: 26399 });
    const closers: { close(): Promise<void> }[] = [];
    try {
      const pub = await whipPublish(`${t.http}/live/w/whip`);
      closers.push(pub);
      assert.equal(pub.answer.status, 201);
      assert.match(
        pub.answer.location ?? "",
        /^\/live\/w\/whip\/[0-9a-f]{32}$/,
      );
      await pub.connected();
      // The first PLI on connect, then one every 2 s.
      await waitFor(
        "two keyframe requests",
        () => pub.keyframeRequests() >= 2,
        10_000,
        100,
      );

      const tx = new WhepSender({ random: () => 7 });
      tx.push(avcConfigTag(0));
      let i = 0;
      const timer = setInterval(() => {
        for (const p of tx.push(videoTag(i * 40, i % 25 === 0))) pub.sendRtp(p);
        i++;
      }, 40);
      try {
        const hub = await waitFor(
          "the WHIP stream's video",
          () => {
            const h = t.origin.registry.get("live", "w");
            return h?.codecs.video ? h : undefined;
          },
          10_000,
          50,
        );
        assert.equal(hub.publisher.protocol, "webrtc");
        // Played back over WHEP: a stream in over WebRTC goes out over WebRTC.
        const viewer = await whepPlay(`${t.http}/live/w/whep`);
        closers.push(viewer);
        await viewer.connected();
        await waitFor(
          "frames through the origin",
          () => viewer.frames() > 5,
          10_000,
          50,
        );
        assert.equal(viewer.answer.note, null, "no audio, no note");

        // The publisher leaves (DELETE): the stream ends and its viewer's session with it.
        const del = await fetch(`${t.http}${pub.answer.location}`, {
          method: "DELETE",
        });
        assert.equal(del.status, 200);
        await del.body?.cancel();
        assert.equal(t.origin.registry.get("live", "w"), undefined);
        const m = await t.metricsText();
        assert.equal(
          sample(m, 'meridian_origin_webrtc_sessions{kind="whep"}'),
          0,
        );
        assert.equal(
          sample(m, 'meridian_origin_webrtc_sessions{kind="whip"}'),
          0,
        );
        assert.ok(
          sample(m, 'meridian_origin_webrtc_frames_total{direction="in"}') > 5,
        );
      } finally {
        clearInterval(timer);
      }
    } finally {
      for (const c of closers) await c.close();
      await t.origin.close();
    }
  },
});
