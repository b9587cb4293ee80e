import assert from "node:assert/strict";
import {
  admitPush,
  admitRelay,
  extendChain,
  LOOP_STATUS,
  parseRelayChain,
  refusalStatus,
  RelayError,
  RelayErrorCode,
} from "../../../origin/relay/mod.ts";
import { chainParams, refusalFromText } from "../../../origin/relay/wire.ts";
import { createPrng } from "../../_helpers/prng.ts";

const SECRET = "s".repeat(20);
const policy = { secret: SECRET, nodeId: "shield", maxDepth: 3 };

Deno.test("parseRelayChain() takes a count and as many node ids, refuses anything else naming the value", () => {
  assert.deepEqual(parseRelayChain("1", "edge-a"), {
    hops: 1,
    via: ["edge-a"],
  });
  assert.deepEqual(parseRelayChain("3", "a,b.c,d:8090"), {
    hops: 3,
    via: ["a", "b.c", "d:8090"],
  });
  const cases: [string, string, RegExp][] = [
    ["0", "", /hop count must be 1\.\.64, got '0'/],
    ["65", "a", /got '65'/],
    ["1.5", "a", /got '1\.5'/],
    ["-1", "a", /got '-1'/],
    ["2", "a", /hop count 2 but 1 node ids/],
    ["1", "a b", /got 'a b'/],
    ["2", "a,", /got ''/],
    ["1", "x".repeat(65), /1\.\.64 of/],
  ];
  for (const [hops, via, re] of cases) {
    assert.throws(
      () => parseRelayChain(hops, via),
      (e) =>
        e instanceof RelayError && e.code === RelayErrorCode.BadMark &&
        re.test(e.message),
      `${hops} ${via}`,
    );
  }
});

Deno.test("extendChain() and chainParams() carry the chain one node further", () => {
  const first = extendChain(undefined, "edge-a");
  assert.deepEqual(first, { hops: 1, via: ["edge-a"] });
  const second = extendChain(first, "shield");
  assert.deepEqual(chainParams(second), {
    relayHops: "2",
    relayVia: "edge-a,shield",
  });
  assert.deepEqual(parseRelayChain("2", "edge-a,shield"), second);
});

Deno.test("admitRelay(): viewer, trusted relay, secret missing or wrong, loop, depth, bad mark", () => {
  assert.deepEqual(admitRelay(undefined, policy), { kind: "viewer" });
  // A secret alone is no pull, and earns nothing.
  assert.deepEqual(admitRelay({ secret: SECRET }, policy), { kind: "viewer" });
  assert.deepEqual(
    admitRelay({ hops: "1", via: "region-b", secret: SECRET }, policy),
    { kind: "relay", chain: { hops: 1, via: ["region-b"] }, trusted: true },
  );
  const refused = (raw: Parameters<typeof admitRelay>[0], p = policy) => {
    const a = admitRelay(raw, p);
    assert.equal(a.kind, "refused");
    return (a as { error: RelayError }).error;
  };
  let e = refused({ hops: "1", via: "region-b" });
  assert.equal(e.code, RelayErrorCode.Secret);
  assert.match(e.message, /^Relay secret required/);
  assert.equal(refusalStatus(e), 403);
  e = refused({ hops: "1", via: "region-b", secret: "x".repeat(20) });
  assert.match(e.message, /^Relay secret wrong/);
  assert.doesNotMatch(e.message, /x{20}|s{20}/, "never shows a secret");
  // The secret is checked before the chain says anything.
  e = refused({ hops: "2", via: "shield,region-b", secret: "bad" });
  assert.equal(e.code, RelayErrorCode.Secret);
  e = refused({ hops: "2", via: "shield,region-b", secret: SECRET });
  assert.equal(e.code, RelayErrorCode.Loop);
  assert.match(e.message, /this node 'shield' \(chain shield > region-b\)/);
  assert.equal(refusalStatus(e), LOOP_STATUS);
  e = refused({ hops: "4", via: "a,b,c,d", secret: SECRET });
  assert.equal(e.code, RelayErrorCode.TooDeep);
  assert.match(e.message, /4 hops, this node allows 3/);
  e = refused({ hops: "x", via: "a", secret: SECRET });
  assert.equal(e.code, RelayErrorCode.BadMark);
  assert.equal(refusalStatus(e), 400);
  // Without a secret of its own a node takes chains, but trusts none (access control applies).
  const open = { ...policy, secret: "" };
  assert.deepEqual(admitRelay({ hops: "1", via: "b" }, open), {
    kind: "relay",
    chain: { hops: 1, via: ["b"] },
    trusted: false,
  });
  assert.equal(
    refused({ hops: "1", via: "shield" }, open).code,
    RelayErrorCode.Loop,
  );
});

Deno.test("admitPush() checks only loop and depth: pushes never carry the secret", () => {
  assert.deepEqual(admitPush({ hops: "1", via: "primary" }, policy), {
    kind: "relay",
    chain: { hops: 1, via: ["primary"] },
    trusted: false,
  });
  const a = admitPush({ hops: "2", via: "primary,shield" }, policy);
  assert.equal(a.kind === "refused" && a.error.code, RelayErrorCode.Loop);
  // A presented secret earns a push nothing either.
  const b = admitPush({ hops: "1", via: "p", secret: SECRET }, policy);
  assert.equal(b.kind === "relay" && b.trusted, false);
});

Deno.test("refusalFromText() keeps the upstream's reason and recovers its code", () => {
  const up = "rtmp://up:1935";
  assert.equal(
    refusalFromText("Relay loop: the stream already passed", up, "live/a").code,
    RelayErrorCode.Loop,
  );
  assert.equal(
    refusalFromText("Relay depth limit: ...", up, "live/a").code,
    RelayErrorCode.TooDeep,
  );
  assert.equal(
    refusalFromText("Relay secret required: ...", up, "live/a").code,
    RelayErrorCode.Secret,
  );
  assert.equal(
    refusalFromText(
      "Cannot pull live/a from http://x: refused: Relay loop: the stream already passed",
      up,
      "live/a",
    ).code,
    RelayErrorCode.Loop,
    "a loop further up, wrapped",
  );
  const e = refusalFromText("  Token\nrequired ", up, "live/a");
  assert.equal(e.code, RelayErrorCode.Refused);
  assert.equal(
    e.message,
    "Cannot pull live/a from rtmp://up:1935: refused: Token required",
  );
  assert.ok(refusalFromText("x".repeat(5000), up, "a").message.length < 400);
});

Deno.test("admitRelay() on seeded random marks: a refusal with a code, or a chain whose count is its length", () => {
  const next = createPrng(16);
  const alphabet = "ab,.:-_ 0123456789%?\u00e9\u0000";
  const text = (n: number) =>
    Array.from({ length: n }, () => alphabet[next() % alphabet.length]).join(
      "",
    );
  for (let i = 0; i < 3000; i++) {
    const raw = {
      hops: next() % 4 === 0 ? String(next() % 70) : text(next() % 4),
      via: text(next() % 40),
      secret: next() % 2 ? SECRET : text(next() % 8),
    };
    const a = admitRelay(raw, policy);
    if (a.kind === "refused") {
      assert.ok(a.error instanceof RelayError);
      assert.ok(Object.values(RelayErrorCode).includes(a.error.code));
    } else if (a.kind === "relay") {
      assert.equal(a.chain.hops, a.chain.via.length);
      assert.ok(a.chain.hops <= policy.maxDepth);
      assert.ok(!a.chain.via.includes(policy.nodeId));
    }
  }
});
