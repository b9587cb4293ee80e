/**
 * Relay pulls and pushes over TLS: an upstream on rtmps:// and https://, trusted through
 * `tls.caFile` (a throwaway test CA); without the CA the pull is refused with its reason,
 * bounded.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { synthStream } from "../_helpers/synth_flv.ts";
import { waitFor } from "../_helpers/peers.ts";
import { createTestCa, haveOpenssl, tlsSection } from "../_helpers/tls.ts";
import {
  relayStatus,
  startTestOrigin,
  type TestOrigin,
} from "../origin/relay/_origins.ts";

Deno.test({
  name:
    "relay over TLS: pulls from rtmps:// and https:// upstreams trusted through tls.caFile, a push to an rtmps:// target; without the CA a clear refusal",
  ignore: !haveOpenssl,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ca = await createTestCa();
    const cert = await ca.issue("origin", { names: ["localhost"] });
    const trust = { tls: parseConfig({ tls: { caFile: ca.caFile } }).tls };
    const nodes: TestOrigin[] = [];
    try {
      const top = await startTestOrigin({}, {
        rtmps: tlsSection(cert),
        tls: tlsSection(cert),
      }, trust);
      nodes.push(top);
      const hub = top.registry.startPublish("live", "t", {
        peer: "test",
        protocol: "test",
      });
      for (const t of synthStream(2000)) hub.pushTag(t);
      for (
        const url of [
          `rtmps://127.0.0.1:${top.rtmpsPort}`,
          `https://127.0.0.1:${top.httpsPort}`,
        ]
      ) {
        const low = await startTestOrigin(
          {
            upstreams: [{ url }],
            streamList: "off",
          },
          {},
          trust,
        );
        nodes.push(low);
        const res = await fetch(`${low.http}/live/t.flv`);
        assert.equal(res.status, 200, url);
        await res.body?.cancel();
        assert.equal((await relayStatus(low)).pulls[0]?.upstream, url);
      }
      // Without the test CA: the TLS handshake fails, and the viewer hears why.
      const untrusting = await startTestOrigin({
        upstreams: [{ url: `rtmps://127.0.0.1:${top.rtmpsPort}` }],
        streamList: "off",
      });
      nodes.push(untrusting);
      const t0 = performance.now();
      const refused = await fetch(`${untrusting.http}/live/t.flv`);
      assert.equal(refused.status, 502);
      const why = await refused.text();
      assert.match(why, /connect failed: .*certificate/i, why);
      assert.ok(performance.now() - t0 < 5000);
      // A push to an rtmps:// target, trusted the same way.
      const target = await startTestOrigin(
        {},
        { rtmps: tlsSection(cert) },
        trust,
      );
      nodes.push(target);
      const pusher = await startTestOrigin(
        {
          forward: [{ url: `rtmps://127.0.0.1:${target.rtmpsPort}/live` }],
        },
        {},
        trust,
      );
      nodes.push(pusher);
      const pushed = pusher.registry.startPublish("live", "p", {
        peer: "test",
        protocol: "test",
      });
      for (const t of synthStream(2000)) pushed.pushTag(t);
      await waitFor(
        "the push over rtmps",
        () => target.registry.get("live", "p"),
      );
      assert.equal((await relayStatus(pusher)).pushes[0]?.state, "publishing");
    } finally {
      for (const n of nodes.reverse()) await n.close();
      await ca.close();
    }
  },
});
