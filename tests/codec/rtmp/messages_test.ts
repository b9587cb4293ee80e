import assert from "node:assert/strict";
import { encodeAmf0 } from "../../../codec/amf0/mod.ts";
import {
  decodeAbort,
  decodeAcknowledgement,
  decodeCommand,
  decodeDataMessage,
  decodeSetChunkSize,
  decodeSetPeerBandwidth,
  decodeUserControl,
  decodeWindowAckSize,
  encodeAbort,
  encodeAcknowledgement,
  encodeErrorResult,
  encodeOnStatus,
  encodeResult,
  encodeRtmpMessage,
  encodeSampleAccess,
  encodeSetChunkSize,
  encodeSetPeerBandwidth,
  encodeUserControl,
  encodeWindowAckSize,
  RtmpProtocolError,
  UserControlEvent,
} from "../../../codec/rtmp/mod.ts";

const u8 = (...b: number[]) => new Uint8Array(b);

Deno.test("encodeSetChunkSize() encodes a full message on csid 2, stream 0", () => {
  assert.deepEqual(
    encodeRtmpMessage(encodeSetChunkSize(60000), 128),
    u8(0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0xea, 0x60),
  );
  assert.equal(decodeSetChunkSize(u8(0, 0, 0xea, 0x60)), 60000);
});

Deno.test("control messages round-trip through their decoders", () => {
  assert.equal(decodeAbort(encodeAbort(6).payload), 6);
  assert.equal(
    decodeAcknowledgement(encodeAcknowledgement(2 ** 32 + 7).payload),
    7,
  );
  assert.equal(
    decodeWindowAckSize(encodeWindowAckSize(2_500_000).payload),
    2_500_000,
  );
  assert.deepEqual(
    encodeSetPeerBandwidth(2_500_000, 2).payload,
    u8(0x00, 0x26, 0x25, 0xa0, 2),
  );
  assert.deepEqual(decodeSetPeerBandwidth(u8(0x00, 0x26, 0x25, 0xa0, 2)), {
    windowBytes: 2_500_000,
    limitType: 2,
  });
});

Deno.test("encodeUserControl() encodes StreamBegin, PingResponse and SetBufferLength", () => {
  assert.deepEqual(
    encodeUserControl(UserControlEvent.StreamBegin, 1).payload,
    u8(0, 0, 0, 0, 0, 1),
  );
  assert.deepEqual(
    encodeUserControl(UserControlEvent.PingResponse, 258).payload,
    u8(0, 7, 0, 0, 1, 2),
  );
  const sbl =
    encodeUserControl(UserControlEvent.SetBufferLength, 1, 3000).payload;
  assert.deepEqual(sbl, u8(0, 3, 0, 0, 0, 1, 0, 0, 0x0b, 0xb8));
  assert.deepEqual(decodeUserControl(sbl), {
    event: 3,
    value: 1,
    bufferLengthMs: 3000,
  });
});

Deno.test("control decoders reject short payloads", () => {
  for (
    const fn of [
      decodeSetChunkSize,
      decodeAbort,
      decodeWindowAckSize,
      decodeUserControl,
      decodeSetPeerBandwidth,
    ]
  ) {
    assert.throws(() => fn(u8(0, 1)), (err: unknown) => {
      assert.ok(err instanceof RtmpProtocolError);
      assert.equal(err.code, "RTMP_BAD_CONTROL_MESSAGE");
      return true;
    });
  }
});

Deno.test("encodeOnStatus() and encodeResult() decode back", () => {
  const status = decodeCommand(
    encodeOnStatus(1, {
      level: "error",
      code: "NetStream.Publish.BadName",
      description: "Stream already publishing",
    }).payload,
    20,
  );
  assert.deepEqual(status, {
    name: "onStatus",
    transactionId: 0,
    commandObject: null,
    args: [{
      level: "error",
      code: "NetStream.Publish.BadName",
      description: "Stream already publishing",
    }],
  });
  assert.deepEqual(decodeCommand(encodeResult(4, null, 1).payload, 20).args, [
    1,
  ]);
  assert.equal(
    decodeCommand(
      encodeErrorResult(3, { level: "error", code: "x", description: "y" })
        .payload,
      20,
    ).name,
    "_error",
  );
});

Deno.test("decodeCommand() skips the format byte of an AMF3 command (type 17)", () => {
  const body = encodeAmf0("connect", 1, { app: "live" });
  assert.deepEqual(decodeCommand(new Uint8Array([0, ...body]), 17), {
    name: "connect",
    transactionId: 1,
    commandObject: { app: "live" },
    args: [],
  });
});

Deno.test("decodeCommand() rejects bad AMF and a non-string name", () => {
  for (const payload of [u8(0x02, 0, 9), encodeAmf0(1, 2)]) {
    assert.throws(() => decodeCommand(payload, 20), (err: unknown) => {
      assert.ok(err instanceof RtmpProtocolError);
      assert.equal(err.code, "RTMP_BAD_COMMAND");
      return true;
    });
  }
});

Deno.test("decodeDataMessage() reads type 18 and type 15", () => {
  const body = encodeAmf0("@setDataFrame", "onMetaData", { width: 320 });
  assert.deepEqual(decodeDataMessage(body, 18), [
    "@setDataFrame",
    "onMetaData",
    { width: 320 },
  ]);
  assert.deepEqual(
    decodeDataMessage(new Uint8Array([0, ...body]), 15)[1],
    "onMetaData",
  );
});

Deno.test("encodeSampleAccess() sends |RtmpSampleAccess true true on the data csid", () => {
  const m = encodeSampleAccess(1);
  assert.equal(m.typeId, 18);
  assert.equal(m.streamId, 1);
  assert.deepEqual(decodeDataMessage(m.payload, 18), [
    "|RtmpSampleAccess",
    true,
    true,
  ]);
});
