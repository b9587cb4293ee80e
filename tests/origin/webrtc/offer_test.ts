import assert from "node:assert/strict";
import {
  inspectOffer,
  OfferError,
  OfferErrorCode,
} from "../../../origin/webrtc/offer.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";
import {
  audioOnlyOffer,
  chromiumOffer,
  chromiumOfferWithAudio,
  mode0Offer,
  vp8Offer,
} from "./_fixtures.ts";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OfferError, `not an OfferError: ${err}`);
    return err.code;
  }
  return "none";
}

Deno.test("offer: Chromium's offer gets constrained baseline, mode 1, with its feedback", () => {
  const o = inspectOffer(chromiumOffer());
  assert.equal(o.h264.payloadType, 104);
  assert.equal(o.h264.profileLevelId, "42e01f");
  assert.equal(o.h264.packetizationMode, 1);
  assert.match(o.h264.fmtp, /packetization-mode=1/);
  assert.deepEqual(o.h264.rtcpFeedback, ["goog-remb", "nack", "nack pli"]);
  assert.equal(o.videoDirection, "recvonly");
  assert.equal(o.hasAudio, false);
  assert.deepEqual(o.videoCodecs, ["VP8", "VP9", "H264", "AV1"]);
});

Deno.test("offer: an audio section's Opus payload type is found", () => {
  const o = inspectOffer(chromiumOfferWithAudio());
  assert.equal(o.hasAudio, true);
  assert.deepEqual(o.opus, {
    payloadType: 111,
    fmtp: "minptime=10;useinbandfec=1",
  });
  assert.equal(o.h264.payloadType, 104);
  assert.equal(inspectOffer(chromiumOffer()).opus, undefined);
});

Deno.test("offer: the stream's profile is preferred when offered", () => {
  assert.equal(inspectOffer(chromiumOffer(), 77).h264.payloadType, 108); // main
  assert.equal(inspectOffer(chromiumOffer(), 66).h264.payloadType, 100); // baseline 42001f
  // High (100) is not offered: constrained baseline, which decoders take for any profile.
  assert.equal(inspectOffer(chromiumOffer(), 100).h264.payloadType, 104);
});

Deno.test("offer: the direction is read (WHIP offers send)", () => {
  assert.equal(
    inspectOffer(chromiumOffer("sendonly")).videoDirection,
    "sendonly",
  );
  assert.equal(
    inspectOffer(chromiumOffer("sendrecv")).videoDirection,
    "sendrecv",
  );
});

Deno.test("offer: no usable H.264 is WEBRTC_NO_CODEC, naming what was offered", () => {
  assert.equal(code(() => inspectOffer(vp8Offer())), OfferErrorCode.NoCodec);
  assert.throws(() => inspectOffer(vp8Offer()), /offered: VP8, VP9/);
  assert.equal(code(() => inspectOffer(mode0Offer())), OfferErrorCode.NoCodec);
  assert.throws(() => inspectOffer(mode0Offer()), /packetization-mode=1/);
  assert.equal(
    code(() => inspectOffer(audioOnlyOffer())),
    OfferErrorCode.NoCodec,
  );
});

Deno.test("offer: text that is not a WebRTC offer is WEBRTC_BAD_OFFER", () => {
  const bad = [
    "",
    "hello",
    "v=0\r\n",
    "v=1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
    chromiumOffer().replace(/a=ice-ufrag:[^\r]*\r\n/, ""),
    chromiumOffer().replace(/a=fingerprint:[^\r]*\r\n/, ""),
    chromiumOffer().replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"),
    "v=0\r\n" + "a=x\r\n".repeat(2000),
  ];
  for (const text of bad) {
    assert.equal(
      code(() => inspectOffer(text)),
      OfferErrorCode.Malformed,
      JSON.stringify(text.slice(0, 60)),
    );
  }
});

Deno.test("offer fuzz: mutated and random offers give a choice or an OfferError, never another throw", () => {
  const next = createPrng(0x5eed);
  const seeds = [chromiumOffer(), vp8Offer(), mode0Offer(), audioOnlyOffer()]
    .map((s) => new TextEncoder().encode(s));
  const decoder = new TextDecoder();
  let answered = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = i % 10 === 0
      ? randomBytes(next, next() % 2000)
      : mutate(next, seeds[i % seeds.length]!);
    try {
      const o = inspectOffer(decoder.decode(bytes), next() % 128);
      assert.equal(o.h264.packetizationMode, 1);
      answered++;
    } catch (err) {
      assert.ok(err instanceof OfferError, `iteration ${i}: ${err}`);
    }
  }
  assert.ok(answered > 100, `answered ${answered}`);
});
