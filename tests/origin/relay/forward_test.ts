import assert from "node:assert/strict";
import { forwards, parseForwardRules } from "../../../origin/relay/mod.ts";

Deno.test("parseForwardRules(): placeholders, default ports, the stream key kept out of what status shows", () => {
  const [platform, standby, plain] = parseForwardRules([
    {
      url: "rtmp://live.example.com/app?x=1",
      streamKey: "live_0123_abc",
      apps: ["live"],
      streams: ["launch"],
    },
    { url: "rtmps://standby:8443/{app}", streamKey: "", apps: [], streams: [] },
    {
      url: "rtmp://b:1936/in/{app}-{stream}",
      streamKey: "",
      apps: [],
      streams: [],
    },
  ]);
  assert.equal(platform!.port, 1935);
  assert.equal(platform!.query, "?x=1");
  assert.equal(platform!.shown, "rtmp://live.example.com/app/<streamKey>");
  assert.doesNotMatch(
    JSON.stringify({ ...platform, streamKey: "" }),
    /live_0123/,
  );
  assert.equal(standby!.tls, true);
  assert.equal(standby!.port, 8443);
  assert.equal(standby!.app, "{app}");
  assert.equal(standby!.stream, undefined);
  assert.equal(plain!.stream, "{app}-{stream}");
  assert.equal(forwards(platform!, "live", "launch"), true);
  assert.equal(forwards(platform!, "live", "other"), false);
  assert.equal(forwards(platform!, "sports", "launch"), false);
  assert.equal(forwards(standby!, "any", "thing"), true);
});
