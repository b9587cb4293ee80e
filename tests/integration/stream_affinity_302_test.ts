/**
 * Stream affinity through the HTTP 302 scheduler with real edges: three edges (Frankfurt,
 * Amsterdam, Singapore) register in one store and heartbeat the live streams they serve. The
 * first London viewer of a stream is sent to a European edge and plays from it (one origin
 * pull); the second London viewer, from a subnet the scheduler would otherwise send to the
 * other European edge, is sent to the edge that already serves the stream, so the origin is
 * still pulled once; a viewer in Australia is sent to its own region's edge.
 */
import assert from "node:assert/strict";
import {
  encodeFlvHeader,
  encodeFlvTag,
  FlvTagType,
} from "../../codec/flv/mod.ts";
import { EDGE_DEFAULTS } from "../../config/edge_schema.ts";
import type { EdgeHandle } from "../../edge/mod.ts";
import { createStaticGeoLookup, parseIp } from "../../geo/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { DnsHandler } from "../../scheduler/answer/handler.ts";
import { StoreEdgeSource } from "../../scheduler/edges_store.ts";
import { createSchedulerApp } from "../../scheduler/http/app.ts";
import { DnsStats } from "../../scheduler/stats.ts";
import { Authority } from "../../scheduler/zone.ts";
import { streamKey } from "../../store/mod.ts";
import { waitFor } from "../_helpers/peers.ts";
import {
  edgeConfig,
  startTestEdge,
  startTestOrigin,
} from "../edge/_helpers/fixtures.ts";
import { ManualHealth, testConfig } from "../scheduler/_fixtures.ts";
import { withStore } from "../store/_temp_store.ts";

const GEO = createStaticGeoLookup([
  {
    cidr: "81.2.0.0/16",
    record: {
      country: "GB",
      city: "London",
      latitude: 51.51,
      longitude: -0.13,
    },
  },
  {
    cidr: "1.1.1.0/24",
    record: {
      country: "AU",
      city: "Sydney",
      latitude: -33.87,
      longitude: 151.21,
    },
  },
]);

/** A live FLV origin: header, then a small video tag every 50 ms until the client leaves. */
function flvOrigin() {
  return startTestOrigin((req) => {
    let ts = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(encodeFlvHeader({ hasAudio: false, hasVideo: true }));
        timer = setInterval(() => {
          try {
            c.enqueue(encodeFlvTag({
              type: FlvTagType.Video,
              timestampMs: ts += 50,
              data: new Uint8Array([0x17, 1, 0, 0, 0, 0xaa]),
            }));
          } catch {
            clearInterval(timer);
          }
        }, 50);
        req.signal.addEventListener("abort", () => clearInterval(timer));
      },
      cancel() {
        clearInterval(timer);
      },
    });
    return new Response(body, { headers: { "content-type": "video/x-flv" } });
  });
}

Deno.test("the 302 scheduler sends the second viewer of a stream to the edge already serving it, and another region's viewer to its own", async () => {
  await withStore(async (store) => {
    const origin = flvOrigin();
    const places = {
      fra1: { latitude: 50.11, longitude: 8.68, region: "eu" },
      ams1: { latitude: 52.37, longitude: 4.9, region: "eu" },
      sin1: { latitude: 1.35, longitude: 103.82, region: "ap" },
    } as const;
    const edges = new Map<string, EdgeHandle>();
    const viewers: ReadableStreamDefaultReader<Uint8Array>[] = [];
    let source: StoreEdgeSource | undefined;
    try {
      for (const [id, p] of Object.entries(places)) {
        edges.set(
          id,
          await startTestEdge({
            ...edgeConfig([origin.url]),
            registry: {
              ...EDGE_DEFAULTS.registry,
              id,
              ...p,
              heartbeatSeconds: 0.2,
            },
          }, { store }),
        );
      }
      const config = testConfig({
        zones: [{
          ...testConfig().zones[0]!,
          steered: [{
            name: "live",
            ttlSeconds: 30,
            failoverTtlSeconds: 10,
            filters: [
              { name: "geo_sort" },
              { name: "health" },
              { name: "stream_affinity" },
              { name: "sticky" },
              { name: "first_n", count: 1 },
            ],
          }],
        }],
      });
      source = new StoreEdgeSource(store, {
        refreshMs: 100,
        health: config.health,
      });
      await source.start();
      const handler = new DnsHandler({
        authority: Authority.fromConfig(config),
        geo: GEO,
        edges: source,
        health: new ManualHealth(),
        config,
      });
      const app = createSchedulerApp({
        handler,
        edges: source,
        health: new ManualHealth(),
        stats: new DnsStats(),
        metrics: new MetricsRegistry(),
        redirect: config.redirect,
      });
      const redirect = async (ip: string) => {
        const r = await app.request("/live/demo.flv", {}, {
          remoteAddr: { hostname: ip, port: 5000, transport: "tcp" },
        });
        assert.equal(r.status, 302);
        return r.headers.get("x-meridian-edge")!;
      };
      const play = async (edgeId: string) => {
        const r = await fetch(
          `http://127.0.0.1:${edges.get(edgeId)!.port}/live/demo.flv`,
        );
        assert.equal(r.status, 200);
        const reader = r.body!.getReader();
        viewers.push(reader);
        assert.ok((await reader.read()).value!.byteLength > 0);
      };

      const first = await redirect("81.2.1.7");
      assert.ok(first === "fra1" || first === "ams1", first);
      await play(first);
      assert.equal(origin.count("/live/demo.flv"), 1);
      const key = streamKey("live", "demo");
      await waitFor(
        "the first edge's heartbeat naming the stream",
        () => source!.streams.holders(key)?.has(first),
        10_000,
      );

      // A London subnet the chain sends to the other European edge when no stream is named.
      const steered = handler.defaultSteered()!;
      const other = first === "fra1" ? "ams1" : "fra1";
      let second = "";
      for (let i = 2; i < 250 && !second; i++) {
        const ip = `81.2.${i}.9`;
        const plain = handler.decide(steered, "A", {
          bytes: parseIp(ip)!.bytes,
          prefixLength: 32,
        });
        if (plain.answer.edgeIds[0] === other) second = ip;
      }
      assert.ok(second, "some London subnet is spread to the other edge");
      assert.equal(await redirect(second), first, "sent where the stream is");
      await play(first);
      assert.equal(origin.count("/live/demo.flv"), 1, "still one origin pull");

      // Australia: nearest is Singapore, whatever Europe serves.
      assert.equal(await redirect("1.1.1.9"), "sin1");
    } finally {
      for (const v of viewers) await v.cancel().catch(() => {});
      await source?.close();
      for (const e of edges.values()) await e.close();
      await origin.close();
    }
  });
});
