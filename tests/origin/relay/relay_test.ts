/**
 * The relay's pulls with scripted upstream connections (no sockets): fail-over order, what a
 * viewer gets from each kind of failure, batches written at once, the source break on a
 * switch, idle stops, the stream limit.
 */
import assert from "node:assert/strict";
import type { FlvTag } from "../../../codec/flv/mod.ts";
import { parseConfig } from "../../../config/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import {
  type OpenPull,
  type PullConnection,
  Relay,
  RelayError,
  RelayErrorCode,
} from "../../../origin/relay/mod.ts";
import type { PullHandlers } from "../../../origin/relay/upstream.ts";
import type { Viewer } from "../../../origin/stream/hub.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import { waitFor } from "../../_helpers/peers.ts";
import { synthStream } from "../../_helpers/synth_flv.ts";

/** One scripted connection: the test starts, feeds, fails or ends it. */
interface Scripted extends PullConnection {
  readonly upstream: string;
  readonly chain: readonly string[];
  readonly handlers: PullHandlers;
  begin(): void;
  refuse(e: RelayError): void;
  finish(e?: RelayError): void;
  closed: boolean;
}

function scriptedOpen(): { open: OpenPull; conns: Scripted[] } {
  const conns: Scripted[] = [];
  const open: OpenPull = (upstream, request, _timeouts, handlers) => {
    let start!: () => void;
    let reject!: (e: RelayError) => void;
    let end!: (e: RelayError | undefined) => void;
    const started = new Promise<void>((res, rej) => {
      start = res;
      reject = rej;
    });
    started.catch(() => {});
    const ended = new Promise<RelayError | undefined>((r) => end = r);
    const c: Scripted = {
      upstream: upstream.url,
      chain: request.chain.via,
      handlers,
      started,
      ended,
      bytesIn: 0,
      closed: false,
      begin: () => start(),
      refuse: (e) => {
        reject(e);
        end(e);
      },
      finish: (e) => end(e),
      close() {
        c.closed = true;
        end(undefined);
      },
    };
    conns.push(c);
    return c;
  };
  return { open, conns };
}

const enc = { tag: (t: FlvTag) => t.data };

function setup(relay: Record<string, unknown> = {}, maxStreams = 10) {
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    // Long: anything a viewer gets before this came from an explicit flush.
    flushIntervalMs: 60_000,
    encoders: { flv: enc, rtmp: enc },
    log: silentLogger,
  });
  const { open, conns } = scriptedOpen();
  const config = parseConfig({
    origin: {
      relay: {
        nodeId: "me",
        streamList: "off",
        upstreams: [{ url: "rtmp://primary:1935" }, {
          url: "rtmp://backup:1935",
        }],
        ...relay,
      },
    },
  }).origin.relay;
  const r = new Relay(config, {
    registry,
    log: silentLogger,
    metrics: new MetricsRegistry(),
    maxStreams,
    open,
  });
  registry.setDemandSource(r);
  return { registry, relay: r, conns };
}

class TestViewer implements Viewer {
  readonly format = "flv" as const;
  readonly id = "v";
  writes = 0;
  closed: string | undefined;
  write(): boolean {
    this.writes++;
    return true;
  }
  close(reason: string): void {
    this.closed = reason;
  }
}

const notFound = (up: string) =>
  new RelayError(RelayErrorCode.NotFound, `Cannot pull: not found`, up);

Deno.test("Relay: the first upstream that starts serves; a miss on the primary tries the backup; the chain carries this node", async () => {
  const { registry, relay, conns } = setup();
  try {
    const got = registry.acquire("live", "cam", {
      chain: { hops: 1, via: ["edge"] },
    });
    await waitFor("the primary attempt", () => conns[0]);
    assert.equal(conns[0]!.upstream, "rtmp://primary:1935");
    assert.deepEqual(conns[0]!.chain, ["edge", "me"]);
    conns[0]!.refuse(notFound("rtmp://primary:1935"));
    await waitFor("the backup attempt", () => conns[1]);
    conns[1]!.begin();
    const hub = await got;
    assert.ok(!("status" in hub), JSON.stringify(hub));
    assert.equal(hub.publisher.protocol, "relay");
    assert.equal(hub.publisher.peer, "rtmp://backup:1935");
    assert.deepEqual(relay.pulls().map((p) => [p.state, p.upstream]), [[
      "live",
      "rtmp://backup:1935",
    ]]);
  } finally {
    await relay.close();
  }
});

Deno.test("Relay: what a viewer gets when no upstream starts: 404 nowhere, 508 a loop, 502 refused or broken, 504 silent", async () => {
  const cases: [RelayError[], number, RegExp][] = [
    [[notFound("p"), notFound("b")], 404, /Stream not found: live\/cam/],
    [
      [notFound("p"), new RelayError(RelayErrorCode.Loop, "Relay loop: x")],
      508,
      /Relay loop/,
    ],
    [
      [
        new RelayError(RelayErrorCode.Secret, "Relay secret required: x"),
        notFound("b"),
      ],
      502,
      /secret/,
    ],
    [
      [new RelayError(RelayErrorCode.Connect, "connect failed"), notFound("b")],
      502,
      /connect failed/,
    ],
    [
      [new RelayError(RelayErrorCode.Timeout, "no play start"), notFound("b")],
      504,
      /no play start/,
    ],
  ];
  for (const [errors, status, re] of cases) {
    const { registry, relay, conns } = setup();
    try {
      const got = registry.acquire("live", "cam");
      for (let i = 0; i < errors.length; i++) {
        await waitFor(`attempt ${i}`, () => conns[i]);
        conns[i]!.refuse(errors[i]!);
      }
      const r = await got;
      assert.ok("status" in r);
      assert.equal(r.status, status, r.message);
      assert.match(r.message, re);
      assert.equal(registry.get("live", "cam"), undefined);
    } finally {
      await relay.close();
    }
  }
});

Deno.test("Relay: one read's tags reach viewers at once (no second coalescing); a switch breaks the source and rebases time", async () => {
  const { registry, relay, conns } = setup({ reconnectWindowMs: 5000 });
  try {
    const got = registry.acquire("live", "cam");
    await waitFor("the attempt", () => conns[0]);
    conns[0]!.begin();
    const hub = await got;
    assert.ok(!("status" in hub));
    let breaks = 0;
    hub.addListener({ onTag() {}, onEnd() {}, onBreak: () => breaks++ });
    const tags = synthStream(2000);
    for (const t of tags.slice(0, 30)) conns[0]!.handlers.onTag(t);
    const v = new TestViewer();
    hub.addViewer(v);
    const afterJoin = v.writes;
    for (const t of tags.slice(30, 40)) conns[0]!.handlers.onTag(t);
    assert.equal(v.writes, afterJoin, "coalesced until the batch ends");
    conns[0]!.handlers.onBatchEnd?.();
    assert.equal(v.writes, afterJoin + 1, "written at the batch's end");
    // The primary breaks: the backup takes over, the viewer stays, HLS is told.
    conns[0]!.finish(new RelayError(RelayErrorCode.Broken, "reset"));
    await waitFor("the backup attempt", () => conns[1]);
    conns[1]!.begin();
    await waitFor("live again", () => relay.pulls()[0]?.state === "live");
    assert.equal(breaks, 1);
    assert.equal(v.closed, undefined);
    assert.equal(relay.pulls()[0]!.switches, 1);
    // Its clock restarts at 0; what reaches the hub continues after the last timestamp.
    const seen: number[] = [];
    hub.addListener({ onTag: (t) => seen.push(t.timestampMs), onEnd() {} });
    seen.length = 0;
    for (const t of synthStream(200)) conns[1]!.handlers.onTag(t);
    const lastBefore = tags[39]!.timestampMs;
    assert.ok(seen.every((ts) => ts >= lastBefore), seen.join(","));
  } finally {
    await relay.close();
  }
});

Deno.test("Relay: a pull with no viewer and no request for idleCloseMs ends; a touch keeps it", async () => {
  const { registry, relay, conns } = setup({ idleCloseMs: 300 });
  try {
    const got = registry.acquire("live", "cam");
    await waitFor("the attempt", () => conns[0]);
    conns[0]!.begin();
    await got;
    // HLS requests touch it: still live past its idle time.
    const until = Date.now() + 700;
    while (Date.now() < until) {
      registry.touch("live", "cam");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(relay.pulls()[0]?.state, "live");
    await waitFor("the idle stop", () => relay.pulls().length === 0, 3000);
    assert.ok(conns[0]!.closed);
    assert.equal(registry.get("live", "cam"), undefined);
  } finally {
    await relay.close();
  }
});

Deno.test("Relay: past maxStreams a new pull is 503; an app no upstream serves is a 404 at once", async () => {
  const { registry, relay } = setup({
    upstreams: [{ url: "rtmp://up:1935", apps: ["live"] }],
  }, 1);
  try {
    registry.startPublish("live", "local", { peer: "p", protocol: "rtmp" });
    const full = await registry.acquire("live", "cam");
    assert.ok("status" in full && full.status === 503, JSON.stringify(full));
    const other = await registry.acquire("other", "cam");
    assert.ok("status" in other && other.status === 404);
    assert.equal(registry.demandable("other"), false);
  } finally {
    registry.endAll();
    await relay.close();
  }
});
