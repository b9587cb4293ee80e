import assert from "node:assert/strict";
import { type Amf0Value, encodeAmf0 } from "../../../codec/amf0/mod.ts";
import {
  decodeCommand,
  decodeDataMessage,
  decodeUserControl,
  encodeCommand,
  encodeRtmpMessage,
  encodeSetChunkSize,
  encodeUserControl,
  encodeWindowAckSize,
  type OutgoingRtmpMessage,
  RtmpChunkReader,
  RtmpClientHandshake,
  type RtmpMessage,
  RtmpProtocolError,
} from "../../../codec/rtmp/mod.ts";
import {
  RtmpServerSession,
  type RtmpSessionEvent,
} from "../../../origin/rtmp/session.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

/** A scripted client: encodes what it sends, decodes what the session answers. */
class Harness {
  readonly events: RtmpSessionEvent[] = [];
  readonly session: RtmpServerSession;
  #reader = new RtmpChunkReader();
  #chunkSize = 128;
  #txn = 1;

  constructor(onEvent?: (e: RtmpSessionEvent, s: RtmpServerSession) => void) {
    this.session = new RtmpServerSession({
      outChunkSize: 4096,
      onEvent: (e) => {
        this.events.push(e);
        onEvent?.(e, this.session);
      },
    });
    const client = new RtmpClientHandshake({ digest: true });
    this.session.receive(client.start());
    const [s0s1s2] = this.session.takeOutput();
    this.session.receive(client.push(s0s1s2!).output!);
    this.events.length = 0;
  }

  send(message: OutgoingRtmpMessage): void {
    this.session.receive(encodeRtmpMessage(message, this.#chunkSize));
  }

  setChunkSize(size: number): void {
    this.send(encodeSetChunkSize(size));
    this.#chunkSize = size;
  }

  command(
    name: string,
    commandObject: Amf0Value,
    args: Amf0Value[] = [],
    streamId = 0,
  ): void {
    this.send(
      encodeCommand(
        { name, transactionId: this.#txn++, commandObject, args },
        streamId,
      ),
    );
  }

  /** Messages the session sent since the last call. */
  replies(): RtmpMessage[] {
    return this.session.takeOutput().flatMap((b) => this.#reader.push(b));
  }

  commands(): {
    name: string;
    txn: number;
    args: readonly Amf0Value[];
    streamId: number;
  }[] {
    return this.replies().filter((m) => m.typeId === 20).map((m) => {
      const c = decodeCommand(m.payload, 20);
      return {
        name: c.name,
        txn: c.transactionId,
        args: c.args,
        streamId: m.streamId,
      };
    });
  }

  connect(app = "live"): void {
    this.command("connect", {
      app,
      tcUrl: `rtmp://127.0.0.1/${app}`,
      objectEncoding: 0,
    });
  }
}

const codeOf = (args: readonly Amf0Value[]) =>
  (args[0] as Record<string, Amf0Value>).code;

Deno.test("RtmpServerSession answers connect like FMS", () => {
  const h = new Harness();
  h.command("connect", {
    app: "live?token=abc",
    tcUrl: "rtmp://h/live?token=abc&x=1",
  });
  const replies = h.replies();
  assert.deepEqual(replies.map((m) => m.typeId), [5, 6, 1, 20, 20]);
  const result = decodeCommand(replies[3]!.payload, 20);
  assert.equal(result.name, "_result");
  assert.equal(result.transactionId, 1);
  assert.deepEqual(result.args[0], {
    level: "status",
    code: "NetConnection.Connect.Success",
    description: "Connection succeeded",
    objectEncoding: 0,
  });
  assert.deepEqual(h.events, [{
    type: "connect",
    app: "live",
    tcUrl: "rtmp://h/live?token=abc&x=1",
    params: { token: "abc", x: "1" },
  }]);
  assert.equal(h.session.app, "live");
});

Deno.test("RtmpServerSession runs the FFmpeg publish sequence", () => {
  const h = new Harness((e, s) => {
    if (e.type === "publish") s.acceptPublish(e.streamId);
  });
  h.setChunkSize(4096);
  h.connect();
  h.replies();
  h.command("releaseStream", null, ["t"]);
  h.command("FCPublish", null, ["t"]);
  h.command("createStream", null);
  const setup = h.commands();
  assert.deepEqual(setup.map((c) => c.name), [
    "_result",
    "onFCPublish",
    "_result",
    "_result",
  ]);
  assert.deepEqual(setup[3]!.args, [1]);

  h.command("publish", null, ["t?key=k1", "live"], 1);
  assert.deepEqual(h.events.at(-1), {
    type: "publish",
    streamId: 1,
    app: "live",
    name: "t",
    publishType: "live",
    params: { key: "k1" },
  });
  const status = h.commands();
  assert.equal(status[0]!.name, "onStatus");
  assert.equal(status[0]!.streamId, 1);
  assert.equal(codeOf(status[0]!.args), "NetStream.Publish.Start");

  h.send({
    csid: 5,
    typeId: 18,
    streamId: 1,
    timestampMs: 0,
    payload: encodeAmf0("@setDataFrame", "onMetaData", { width: 320 }),
  });
  h.send({
    csid: 4,
    typeId: 8,
    streamId: 1,
    timestampMs: 23,
    payload: new Uint8Array([0xaf, 0]),
  });
  h.send({
    csid: 6,
    typeId: 9,
    streamId: 1,
    timestampMs: 40,
    payload: new Uint8Array(5000),
  });
  const media = h.events.filter((e) => e.type === "media");
  assert.deepEqual(
    media.map((e) =>
      e.type === "media" &&
      [e.tag.type, e.tag.timestampMs, e.tag.data.byteLength]
    ),
    [
      [18, 0, encodeAmf0("onMetaData", { width: 320 }).byteLength],
      [8, 23, 2],
      [9, 40, 5000],
    ],
  );
  const meta = media[0]!.type === "media"
    ? media[0]!.tag.data
    : new Uint8Array();
  assert.deepEqual(decodeDataMessage(meta, 18), ["onMetaData", { width: 320 }]);

  h.command("FCUnpublish", null, ["t"]);
  h.command("deleteStream", null, [1]);
  assert.deepEqual(h.events.filter((e) => e.type === "unpublish"), [
    { type: "unpublish", streamId: 1, reason: "FCUnpublish" },
  ]);
});

Deno.test("RtmpServerSession ignores media before the publish is accepted", () => {
  const h = new Harness();
  h.connect();
  h.command("createStream", null);
  h.command("publish", null, ["t", "live"], 1);
  h.send({
    csid: 4,
    typeId: 8,
    streamId: 1,
    timestampMs: 0,
    payload: new Uint8Array([0xaf, 1]),
  });
  assert.equal(h.events.filter((e) => e.type === "media").length, 0);
  h.session.rejectPublish(
    1,
    "NetStream.Publish.BadName",
    "Stream already publishing",
  );
  const [status] = h.commands().filter((c) => c.name === "onStatus");
  assert.deepEqual(status!.args[0], {
    level: "error",
    code: "NetStream.Publish.BadName",
    description: "Stream already publishing",
  });
});

Deno.test("RtmpServerSession runs the play sequence", () => {
  const h = new Harness((e, s) => {
    if (e.type === "play") s.acceptPlay(e.streamId);
  });
  h.connect("live?token=t1");
  h.command("createStream", null);
  h.replies();
  h.command("play", null, ["cam?sig=s", -2], 1);
  assert.deepEqual(h.events.at(-1), {
    type: "play",
    streamId: 1,
    app: "live",
    name: "cam",
    params: { token: "t1", sig: "s" },
    startMs: -2,
    durationMs: -1,
  });
  const replies = h.replies();
  assert.deepEqual(replies.map((m) => m.typeId), [4, 20, 20, 18]);
  assert.deepEqual(decodeUserControl(replies[0]!.payload), {
    event: 0,
    value: 1,
  });
  assert.deepEqual(
    replies.slice(1, 3).map((m) => codeOf(decodeCommand(m.payload, 20).args)),
    ["NetStream.Play.Reset", "NetStream.Play.Start"],
  );
  assert.deepEqual(decodeDataMessage(replies[3]!.payload, 18), [
    "|RtmpSampleAccess",
    true,
    true,
  ]);
  h.session.endPlay(1);
  assert.deepEqual(h.replies().map((m) => m.typeId), [20, 4]);
});

Deno.test("RtmpServerSession acknowledges once the client's window is reached", () => {
  const h = new Harness();
  h.send(encodeWindowAckSize(5000));
  h.replies();
  h.connect();
  assert.equal(h.replies().some((m) => m.typeId === 3), false);
  h.send({
    csid: 4,
    typeId: 8,
    streamId: 0,
    timestampMs: 0,
    payload: new Uint8Array(2000),
  });
  const acks = h.replies().filter((m) => m.typeId === 3);
  assert.equal(acks.length, 1);
  const seq = new DataView(acks[0]!.payload.buffer).getUint32(0);
  assert.equal(seq, h.session.bytesReceived);
});

Deno.test("RtmpServerSession answers a ping request", () => {
  const h = new Harness();
  h.send(encodeUserControl(6, 1234));
  const [pong] = h.replies();
  assert.deepEqual(decodeUserControl(pong!.payload), { event: 7, value: 1234 });
});

Deno.test("RtmpServerSession accepts an AMF3 (type 17) connect", () => {
  const h = new Harness();
  const body = encodeAmf0("connect", 1, { app: "live", objectEncoding: 3 });
  h.send({
    csid: 3,
    typeId: 17,
    streamId: 0,
    timestampMs: 0,
    payload: new Uint8Array([0, ...body]),
  });
  assert.equal(h.events[0]!.type, "connect");
});

Deno.test("RtmpServerSession splits aggregate messages into tags", () => {
  const h = new Harness((e, s) => {
    if (e.type === "publish") s.acceptPublish(e.streamId);
  });
  h.connect();
  h.command("createStream", null);
  h.command("publish", null, ["t"], 1);
  const sub = (type: number, ts: number, data: number[]) => [
    type,
    0,
    0,
    data.length,
    (ts >> 16) & 0xff,
    (ts >> 8) & 0xff,
    ts & 0xff,
    0,
    0,
    0,
    0,
    ...data,
    0,
    0,
    0,
    11 + data.length,
  ];
  const payload = new Uint8Array([
    ...sub(9, 1000, [0x17, 1]),
    ...sub(8, 1020, [0xaf, 1]),
  ]);
  h.send({ csid: 6, typeId: 22, streamId: 1, timestampMs: 500, payload });
  const media = h.events.filter((e) => e.type === "media");
  assert.deepEqual(
    media.map((e) => e.type === "media" && [e.tag.type, e.tag.timestampMs]),
    [[9, 500], [8, 520]],
  );
});

Deno.test("RtmpServerSession reports unknown message types and commands as ignored", () => {
  const h = new Harness();
  h.send({
    csid: 3,
    typeId: 99,
    streamId: 0,
    timestampMs: 0,
    payload: new Uint8Array(1),
  });
  h.connect();
  h.command("getStreamLength", null, ["t"]);
  assert.deepEqual(h.events.filter((e) => e.type === "ignored"), [
    { type: "ignored", what: "message type 99" },
    { type: "ignored", what: "command getStreamLength" },
  ]);
});

const PROTOCOL_ERRORS: {
  name: string;
  run: (h: Harness) => void;
  code: string;
}[] = [
  {
    name: "publish before connect",
    run: (h) => h.command("createStream", null),
    code: "RTMP_UNEXPECTED_COMMAND",
  },
  {
    name: "publish on a stream that was not created",
    run: (h) => {
      h.connect();
      h.command("publish", null, ["t"], 7);
    },
    code: "RTMP_UNEXPECTED_COMMAND",
  },
  {
    name: "a second connect",
    run: (h) => {
      h.connect();
      h.connect();
    },
    code: "RTMP_UNEXPECTED_COMMAND",
  },
  {
    name: "connect without app",
    run: (h) => h.command("connect", {}),
    code: "RTMP_BAD_COMMAND",
  },
  {
    name: "a command with broken AMF",
    run: (h) =>
      h.send({
        csid: 3,
        typeId: 20,
        streamId: 0,
        timestampMs: 0,
        payload: new Uint8Array([2, 0, 9]),
      }),
    code: "RTMP_BAD_COMMAND",
  },
  {
    name: "too many createStream",
    run: (h) => {
      h.connect();
      for (let i = 0; i < 9; i++) h.command("createStream", null);
    },
    code: "RTMP_UNEXPECTED_COMMAND",
  },
];

for (const c of PROTOCOL_ERRORS) {
  Deno.test(`RtmpServerSession.receive() throws on ${c.name}`, () => {
    const h = new Harness();
    assert.throws(() => c.run(h), (err: unknown) => {
      assert.ok(err instanceof RtmpProtocolError);
      assert.equal(err.code, c.code);
      return true;
    });
  });
}

Deno.test("RtmpServerSession.receive() rejects a non-RTMP first byte", () => {
  const s = new RtmpServerSession({ outChunkSize: 4096, onEvent: () => {} });
  assert.throws(
    () => s.receive(new TextEncoder().encode("GET / HTTP/1.1\r\n")),
    RtmpProtocolError,
  );
});

Deno.test("RtmpServerSession fuzz: scripted client bytes, mutated, throw only RtmpProtocolError", () => {
  const script: Uint8Array[] = [
    encodeRtmpMessage(encodeSetChunkSize(256), 128),
    encodeRtmpMessage(
      encodeCommand({
        name: "connect",
        transactionId: 1,
        commandObject: { app: "live" },
        args: [],
      }),
      256,
    ),
    encodeRtmpMessage(
      encodeCommand({
        name: "createStream",
        transactionId: 2,
        commandObject: null,
        args: [],
      }),
      256,
    ),
    encodeRtmpMessage(
      encodeCommand({
        name: "publish",
        transactionId: 3,
        commandObject: null,
        args: ["t", "live"],
      }, 1),
      256,
    ),
    encodeRtmpMessage({
      csid: 5,
      typeId: 18,
      streamId: 1,
      timestampMs: 0,
      payload: encodeAmf0("@setDataFrame", "onMetaData", { a: 1 }),
    }, 256),
    encodeRtmpMessage({
      csid: 6,
      typeId: 9,
      streamId: 1,
      timestampMs: 40,
      payload: new Uint8Array(600).fill(0x17),
    }, 256),
  ];
  const seed = new Uint8Array(script.reduce((n, b) => n + b.byteLength, 0));
  let o = 0;
  for (const b of script) {
    seed.set(b, o);
    o += b.byteLength;
  }
  const next = createPrng(0xc0ffee);
  for (let i = 0; i < 2000; i++) {
    const h = new Harness((e, s) => {
      if (e.type === "publish") s.acceptPublish(e.streamId);
    });
    const input = i % 5 === 0
      ? randomBytes(next, next() % 200)
      : mutate(next, seed);
    try {
      h.session.receive(input);
    } catch (err) {
      if (!(err instanceof RtmpProtocolError)) {
        throw new Error(`Fuzz case ${i} threw ${err}: ${[...input]}`);
      }
    }
  }
});

Deno.test("RtmpServerSession answers a half-sent command at once during set-up (Nagle + delayed ACK), never once media flows", () => {
  const h = new Harness((e, s) => {
    if (e.type === "publish") s.acceptPublish(e.streamId);
  });
  h.connect();
  h.replies();
  // ffmpeg's way: a command's chunk header in one write, its body in the next.
  const bytes = encodeRtmpMessage(
    encodeCommand({
      name: "createStream",
      transactionId: 9,
      commandObject: null,
      args: [],
    }, 0),
    128,
  );
  h.session.receive(bytes.subarray(0, 12));
  const nudge = h.replies();
  assert.deepEqual(nudge.map((m) => m.typeId), [3], "an Acknowledgement");
  assert.equal(
    new DataView(nudge[0]!.payload.buffer, nudge[0]!.payload.byteOffset)
      .getUint32(0),
    h.session.bytesReceived,
  );
  h.session.receive(bytes.subarray(12));
  const created = h.commands();
  assert.equal(created[0]?.name, "_result");
  const streamId = created[0]!.args[0] as number;
  h.command("publish", null, ["t", "live"], streamId);
  assert.equal(codeOf(h.commands()[0]!.args), "NetStream.Publish.Start");
  // Publishing: partial media messages are normal and get nothing.
  const video = encodeRtmpMessage({
    csid: 6,
    typeId: 9,
    streamId,
    timestampMs: 0,
    payload: new Uint8Array(300).fill(0x17),
  }, 128);
  h.session.receive(video.subarray(0, 40));
  assert.deepEqual(h.replies(), []);
});

Deno.test("RtmpServerSession reports seek, pause and pauseRaw of a playing stream, and tells a VOD player its end", () => {
  const h = new Harness((e, s) => {
    if (e.type === "play") s.acceptPlay(e.streamId);
  });
  h.connect("vod");
  h.command("createStream", null);
  h.replies();
  h.command("seek", null, [1000], 1); // not playing yet: ignored
  assert.equal(h.events.at(-1)?.type, "ignored");
  h.command("play", null, ["mp4:film.mp4", 30000, 60000], 1);
  assert.deepEqual(
    [h.events.at(-1)?.type, (h.events.at(-1) as { startMs: number }).startMs],
    ["play", 30000],
  );
  h.command("seek", null, [125000], 1);
  assert.deepEqual(h.events.at(-1), { type: "seek", streamId: 1, ms: 125000 });
  h.command("pause", null, [true, 126000], 1);
  assert.deepEqual(h.events.at(-1), {
    type: "pause",
    streamId: 1,
    paused: true,
    ms: 126000,
  });
  h.command("pauseRaw", null, [false, 126000], 1);
  assert.deepEqual(h.events.at(-1), {
    type: "pause",
    streamId: 1,
    paused: false,
    ms: 126000,
  });
  h.replies();
  h.session.playerStatus(1, "NetStream.Seek.Notify", "Seeking 125000");
  h.session.playComplete(1, 60000);
  const out = h.replies();
  // Seek.Notify, StreamBegin, Play.Start; onPlayStatus (data), StreamEOF.
  assert.deepEqual(out.map((m) => m.typeId), [20, 4, 20, 18, 4]);
  const complete = decodeDataMessage(out[3]!.payload, out[3]!.typeId);
  assert.equal(complete[0], "onPlayStatus");
  assert.equal(
    (complete[1] as { code: string }).code,
    "NetStream.Play.Complete",
  );
});

Deno.test("RtmpServerSession hands a relay pull's connect field to play and publish, each field a bounded string", () => {
  const h = new Harness((e, s) => {
    if (e.type === "play") s.acceptPlay(e.streamId);
  });
  h.command("connect", {
    app: "live",
    tcUrl: "rtmp://h/live",
    meridianRelay: { hops: 2, via: "a,b", secret: "x".repeat(10_000) },
  });
  h.command("createStream", null);
  h.replies();
  h.command("play", null, ["cam", -2], 1);
  const play = h.events.at(-1) as { relay?: Record<string, string> };
  assert.equal(play.relay?.hops, "2");
  assert.equal(play.relay?.via, "a,b");
  assert.equal(play.relay?.secret?.length, 4096, "cut to a bound");
  // Not an object: no mark at all (a plain viewer).
  const plain = new Harness((e, s) => {
    if (e.type === "play") s.acceptPlay(e.streamId);
  });
  plain.command("connect", {
    app: "live",
    tcUrl: "rtmp://h/live",
    meridianRelay: "hops=1",
  });
  plain.command("createStream", null);
  plain.command("play", null, ["cam", -2], 1);
  assert.equal("relay" in (plain.events.at(-1) as object), false);
});
