import assert from "node:assert/strict";
import {
  StreamType,
  TsDemuxer,
  TsErrorCode,
  TsFormatError,
  TsMuxer,
} from "../../../codec/mpegts/mod.ts";

Deno.test("TsDemuxer.demux() reports continuity errors across calls", () => {
  const mux = new TsMuxer({ audioStreamType: StreamType.AacAdts });
  const demux = new TsDemuxer();
  demux.demux(mux.writeAudio({ ptsTicks: 0, data: new Uint8Array(10) }));
  mux.writeAudio({ ptsTicks: 0, data: new Uint8Array(10) }); // lost packet
  const r = demux.demux(
    mux.writeAudio({ ptsTicks: 0, data: new Uint8Array(10) }),
  );
  assert.deepEqual(r.continuityErrors, [{
    pid: 0x101,
    packetIndex: 0,
    expected: 1,
    got: 2,
  }]);
});

Deno.test("TsDemuxer.demux() rejects ragged input, lost sync and bad CRC", () => {
  const mux = new TsMuxer({ audioStreamType: StreamType.AacAdts });
  const psi = mux.writePsi();
  assert.throws(
    () => new TsDemuxer().demux(psi.subarray(1)),
    (e) => e instanceof TsFormatError && e.code === TsErrorCode.BadSync,
  );
  const noSync = psi.slice();
  noSync[188] = 0x46;
  assert.throws(
    () => new TsDemuxer().demux(noSync),
    (e) => e instanceof TsFormatError && e.code === TsErrorCode.BadSync,
  );
  const badCrc = psi.slice();
  badCrc[188 + 15] = badCrc[188 + 15]! ^ 1;
  assert.throws(
    () => new TsDemuxer().demux(badCrc),
    (e) => e instanceof TsFormatError && e.code === TsErrorCode.BadPsi,
  );
});
