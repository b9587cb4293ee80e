import assert from "node:assert/strict";
import {
  parseStoreUrl,
  redactStoreUrl,
  resolveStoreLocation,
  StoreError,
} from "../../store/mod.ts";
import { storeUrlProblem } from "../../store/url.ts";
import { createPrng } from "../_helpers/prng.ts";

Deno.test("resolveStoreLocation(): url wins, else path (the older key), else dataDir/meridian.kv", () => {
  assert.deepEqual(resolveStoreLocation({ url: "", path: "" }, "./data"), {
    backend: "kv",
    path: "./data/meridian.kv",
    shown: "./data/meridian.kv",
  });
  assert.deepEqual(
    resolveStoreLocation({ url: "", path: "/srv/m.kv" }, "./data"),
    {
      backend: "kv",
      path: "/srv/m.kv",
      shown: "/srv/m.kv",
    },
  );
  assert.equal(
    resolveStoreLocation({ url: "", path: "https://api.example/kv/1" }, "d")
      .backend,
    "kv",
  );
  const both = resolveStoreLocation({
    url: "redis://10.0.0.1",
    path: "/srv/m.kv",
  }, "d");
  assert.equal(both.backend, "redis");
});

Deno.test("parseStoreUrl() reads every scheme", () => {
  assert.deepEqual(parseStoreUrl("kv:./data/meridian.kv"), {
    backend: "kv",
    path: "./data/meridian.kv",
    shown: "kv:./data/meridian.kv",
  });
  assert.deepEqual(
    parseStoreUrl("kv:https://api.deno.com/databases/x/connect"),
    {
      backend: "kv",
      path: "https://api.deno.com/databases/x/connect",
      shown: "kv:https://api.deno.com/databases/x/connect",
    },
  );
  assert.deepEqual(parseStoreUrl("redis://10.0.0.5"), {
    backend: "redis",
    mode: "standalone",
    tls: false,
    hosts: [{ host: "10.0.0.5", port: 6379 }],
    masterName: "",
    db: 0,
    username: "",
    password: "",
    sentinelPassword: "",
    shown: "redis://10.0.0.5",
  });
  assert.deepEqual(parseStoreUrl("rediss://app:p%40ss@cache.example:6380/3"), {
    backend: "redis",
    mode: "standalone",
    tls: true,
    hosts: [{ host: "cache.example", port: 6380 }],
    masterName: "",
    db: 3,
    username: "app",
    password: "p@ss",
    sentinelPassword: "",
    shown: "rediss://app:***@cache.example:6380/3",
  });
  assert.deepEqual(parseStoreUrl("redis://[::1]:7000"), {
    ...parseStoreUrl("redis://x"),
    hosts: [{ host: "::1", port: 7000 }],
    shown: "redis://[::1]:7000",
  });
  assert.deepEqual(
    parseStoreUrl(
      "redis+sentinel://:pw@s1,s2:26380/main/1?sentinelPassword=sp",
    ),
    {
      backend: "redis",
      mode: "sentinel",
      tls: false,
      hosts: [{ host: "s1", port: 26379 }, { host: "s2", port: 26380 }],
      masterName: "main",
      db: 1,
      username: "",
      password: "pw",
      sentinelPassword: "sp",
      shown: "redis+sentinel://:***@s1,s2:26380/main/1?sentinelPassword=***",
    },
  );
});

Deno.test("parseStoreUrl() refuses malformed URLs with STORE_BAD_URL, never showing the password", () => {
  for (
    const [url, reason] of [
      ["./data/m.kv", "expected kv:PATH"],
      ["kv:", "needs a file path"],
      ["kv:redis://h", "file path or an http(s)"],
      ["memcached://h", "expected kv:PATH"],
      ["redis://", "no host"],
      ["redis://:secretpw@", "no host"],
      ["redis://:secretpw@h:0", "port 1..65535"],
      ["redis://:secretpw@h:99999", "port 1..65535"],
      ["redis://:secretpw@h/16", "database index 0..15"],
      ["redis://:secretpw@h/x", "database index"],
      ["redis://:secretpw@h/1/2", "path must be /DB"],
      ["redis://:secretpw@h1,h2", "one host only"],
      ["redis://:secretpw@h?db=2", "unknown query parameter"],
      ["redis+sentinel://:secretpw@h", "no master name"],
      ["redis+sentinel://:secretpw@h/m/1/2", "path must be /MASTER"],
      ["redis://:secretpw@bad host", "host[:port] expected"],
      ["redis://:%E0%A4%A@h", "percent-encoding"],
    ] as const
  ) {
    assert.throws(
      () => parseStoreUrl(url),
      (e: unknown) =>
        e instanceof StoreError && e.code === "STORE_BAD_URL" &&
        e.message.includes(reason) && !e.message.includes("secretpw"),
      url,
    );
    assert.ok(storeUrlProblem(url)?.includes(reason), url);
  }
  assert.equal(storeUrlProblem(""), undefined);
  assert.equal(storeUrlProblem("redis://h:6379/0"), undefined);
});

Deno.test("redactStoreUrl() hides user-info passwords and sentinel passwords only", () => {
  assert.equal(redactStoreUrl("redis://u:p@h"), "redis://u:***@h");
  assert.equal(redactStoreUrl("redis://:p@h"), "redis://:***@h");
  assert.equal(redactStoreUrl("redis://u@h"), "redis://u@h");
  assert.equal(redactStoreUrl("redis://h/0"), "redis://h/0");
  assert.equal(
    redactStoreUrl("redis+sentinel://h/m?sentinelPassword=x"),
    "redis+sentinel://h/m?sentinelPassword=***",
  );
});

Deno.test("parseStoreUrl() fuzz: random and mutated URLs parse or throw STORE_BAD_URL, never leaking the password", () => {
  const next = createPrng(0x5707e);
  const seeds = [
    "redis://:PWSECRET@10.0.0.1:6379/2",
    "rediss://user:PWSECRET@h.example/0",
    "redis+sentinel://:PWSECRET@a,b:26380/main/1",
    "kv:./data/meridian.kv",
  ];
  const alphabet = ":/@,?#&=[]%.-_09azAZ+ \u00e9";
  for (let i = 0; i < 2000; i++) {
    const chars = [...seeds[next() % seeds.length]!];
    const edits = 1 + (next() % 4);
    for (let e = 0; e < edits; e++) {
      const at = next() % (chars.length + 1);
      const c = alphabet[next() % alphabet.length]!;
      if (next() % 2) chars.splice(at, 1, c);
      else chars.splice(at, 0, c);
    }
    const url = chars.join("");
    try {
      const l = parseStoreUrl(url);
      assert.ok(
        !l.shown.includes("PWSECRET") || !url.includes(":PWSECRET@"),
        url,
      );
    } catch (e) {
      assert.ok(
        e instanceof StoreError && e.code === "STORE_BAD_URL",
        `${url}: ${e}`,
      );
      if (/^[^/]*\/\/[^:@/]*:.*PWSECRET.*@/.test(url)) {
        assert.ok(!(e as Error).message.includes("PWSECRET"), url);
      }
    }
  }
});
