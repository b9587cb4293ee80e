import assert from "node:assert/strict";
import {
  applyEnv,
  ConfigError,
  DEFAULTS,
  envNames,
  loadConfig,
  parseConfig,
  parseYamlConfig,
} from "../../config/mod.ts";

Deno.test("parseConfig() returns every default for an empty config", () => {
  assert.deepEqual(parseConfig({}), DEFAULTS);
  assert.deepEqual(parseConfig(null), DEFAULTS);
});

Deno.test("parseConfig() merges nested keys over defaults", () => {
  const c = parseConfig({
    origin: { hls: { windowSegments: 10 }, rtmpPort: 19350 },
  });
  assert.equal(c.origin.hls.windowSegments, 10);
  assert.equal(c.origin.hls.targetDurationSeconds, 2);
  assert.equal(c.origin.rtmpPort, 19350);
  assert.ok(Object.isFrozen(c.origin.hls));
});

Deno.test("parseConfig() names the key, the value and what was expected", () => {
  const cases: [unknown, RegExp][] = [
    [
      { origin: { rtmpPort: "x" } },
      /'origin\.rtmpPort': got "x", expected a number/,
    ],
    [
      { origin: { rtmpPort: 70000 } },
      /'origin\.rtmpPort': got 70000, expected an integer 0\.\.65535/,
    ],
    [
      { origin: { nope: 1 } },
      /'origin\.nope': got 1, expected one of the known keys/,
    ],
    [{ nope: {} }, /'nope'/],
    [
      { log: { level: "loud" } },
      /'log\.level': got "loud", expected one of debug, info, warn, error/,
    ],
    [
      { origin: { virtualLive: {} } },
      /'origin\.virtualLive': got \{\}, expected a list/,
    ],
    [{
      origin: { virtualLive: [{ app: "live", stream: "../x", file: "a.flv" }] },
    }, /'origin\.virtualLive\[0\]\.stream'/],
    [
      { origin: { virtualLive: [{ app: "live", file: "a.flv" }] } },
      /'origin\.virtualLive\[0\]\.stream'/,
    ],
    [
      { origin: { live: { gopCache: "yes" } } },
      /'origin\.live\.gopCache': got "yes", expected a boolean/,
    ],
  ];
  for (const [raw, re] of cases) {
    assert.throws(
      () => parseConfig(raw),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(raw),
    );
  }
});

Deno.test("applyEnv() maps MERIDIAN_<SECTION>_<KEY> onto keys and parses scalars", () => {
  assert.deepEqual(envNames().get("MERIDIAN_ORIGIN_RTMP_PORT"), [
    "origin",
    "rtmpPort",
  ]);
  assert.deepEqual(
    envNames().get("MERIDIAN_ORIGIN_HLS_TARGET_DURATION_SECONDS"),
    ["origin", "hls", "targetDurationSeconds"],
  );
  const { raw, unknown } = applyEnv({ origin: { httpPort: 1 } }, {
    MERIDIAN_ORIGIN_RTMP_PORT: "1940",
    MERIDIAN_ORIGIN_LIVE_GOP_CACHE: "false",
    MERIDIAN_BOGUS: "1",
    PATH: "/bin",
  });
  const c = parseConfig(raw);
  assert.equal(c.origin.rtmpPort, 1940);
  assert.equal(c.origin.httpPort, 1);
  assert.equal(c.origin.live.gopCache, false);
  assert.deepEqual(unknown, ["MERIDIAN_BOGUS"]);
});

Deno.test("loadConfig() reads YAML, applies env last, and rejects bad YAML", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/m.yaml`;
    await Deno.writeTextFile(
      file,
      "origin:\n  httpPort: 9000\n  rtmpPort: 1000\n",
    );
    const { config } = await loadConfig(file, {
      MERIDIAN_ORIGIN_RTMP_PORT: "2000",
    });
    assert.equal(config.origin.httpPort, 9000);
    assert.equal(config.origin.rtmpPort, 2000);
    await Deno.writeTextFile(file, "origin: [1, 2\n");
    await assert.rejects(loadConfig(file, {}), ConfigError);
    await assert.rejects(loadConfig(`${dir}/missing.yaml`, {}), /'--config'/);
    assert.deepEqual(parseYamlConfig(""), {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyEnv() keeps string keys as text and ConfigError never shows a secret", () => {
  const { raw } = applyEnv({}, {
    MERIDIAN_CONTROL_ADMIN_TOKEN: "12345678901234567890",
  });
  assert.equal(parseConfig(raw).control.adminToken, "12345678901234567890");
  const err = new ConfigError(
    "control.adminToken",
    "hunter2",
    "at least 16 characters",
  );
  assert.doesNotMatch(err.message, /hunter2/);
  assert.match(err.message, /<redacted, 7 characters>/);
});

Deno.test("parseConfig() reads origin.apps with optional keys and nested streams", () => {
  const c = parseConfig({
    origin: {
      apps: [
        {
          name: "live",
          access: "token",
          streams: [{ name: "cam1", publishKeys: ["k1"] }],
        },
        { name: "open" },
      ],
      defaultApp: { publishKeys: ["d1"] },
      hooks: { onPlay: "http://127.0.0.1:9/hook", onFailure: "allow" },
    },
  });
  const noArchive = {
    dvr: { enabled: false, windowSeconds: 7200, maxBytes: 0 },
    record: { enabled: false, formats: ["mp4"] },
  };
  assert.deepEqual(c.origin.apps, [
    {
      name: "live",
      access: "token",
      publishKeys: [],
      streams: [{ name: "cam1", publishKeys: ["k1"] }],
      ...noArchive,
    },
    {
      name: "open",
      access: "open",
      publishKeys: [],
      streams: [],
      ...noArchive,
    },
  ]);
  assert.deepEqual(c.origin.defaultApp, {
    access: "open",
    publishKeys: ["d1"],
    dvr: { enabled: true, windowSeconds: 600, maxBytes: 0 },
    record: { enabled: false, formats: ["mp4"] },
  });
  assert.equal(c.origin.hooks.onFailure, "allow");
  assert.equal(c.origin.hooks.timeoutMs, 3000);
  assert.ok(Object.isFrozen(c.origin.apps[0]!.streams[0]!.publishKeys));
  // Lists of maps whose default is not empty keep every key required.
  assert.throws(
    () =>
      parseConfig({
        origin: { virtualLive: [{ app: "live", file: "a.flv" }] },
      }),
    /'origin\.virtualLive\[0\]\.stream'/,
  );
});

Deno.test("parseConfig() names the bad key of apps, streams and hooks, never a publish key", () => {
  const cases: [unknown, RegExp][] = [
    [
      { origin: { apps: [{ access: "token" }] } },
      /'origin\.apps\[0\]\.name': got undefined, expected a string/,
    ],
    [
      { origin: { apps: [{ name: "live", access: "closed" }] } },
      /'origin\.apps\[0\]\.access': got "closed", expected one of open, token/,
    ],
    [{ origin: { apps: [{ name: "a/b" }] } }, /'origin\.apps\[0\]\.name'/],
    [
      { origin: { apps: [{ name: "live", nope: 1 }] } },
      /'origin\.apps\[0\]\.nope': got 1, expected one of the known keys/,
    ],
    [
      { origin: { apps: [{ name: "live" }, { name: "live" }] } },
      /'origin\.apps'.*unique names \(live repeats\)/,
    ],
    [
      { origin: { apps: [{ name: "live", streams: [{ publishKeys: [] }] }] } },
      /'origin\.apps\[0\]\.streams\[0\]\.name'/,
    ],
    [
      { origin: { apps: [{ name: "live", publishKeys: [7] }] } },
      /'origin\.apps\[0\]\.publishKeys\[0\]': got 7, expected a string/,
    ],
    [
      { origin: { apps: [{ name: "live", publishKeys: "k" }] } },
      /'origin\.apps\[0\]\.publishKeys': got <redacted, 1 characters>, expected a list/,
    ],
    [
      { origin: { defaultApp: { publishKeys: [""] } } },
      /'origin\.defaultApp\.publishKeys\[0\]': got <redacted, 0 characters>/,
    ],
    [
      { origin: { defaultApp: { access: "x" } } },
      /'origin\.defaultApp\.access'/,
    ],
    [
      { origin: { hooks: { onPublish: "ftp://x" } } },
      /'origin\.hooks\.onPublish': got "ftp:\/\/x", expected "" or an http\(s\) URL/,
    ],
    [{ origin: { hooks: { timeoutMs: 0 } } }, /'origin\.hooks\.timeoutMs'/],
    [
      { origin: { hooks: { onFailure: "maybe" } } },
      /'origin\.hooks\.onFailure'/,
    ],
  ];
  for (const [raw, re] of cases) {
    assert.throws(
      () => parseConfig(raw),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(raw),
    );
  }
});

Deno.test("applyEnv() sets origin.apps from one YAML flow value", () => {
  const { raw } = applyEnv({}, {
    MERIDIAN_ORIGIN_APPS: "[{name: live, access: token}]",
    MERIDIAN_ORIGIN_DEFAULT_APP_ACCESS: "token",
    MERIDIAN_ORIGIN_HOOKS_ON_PLAY: "http://127.0.0.1:9/h",
  });
  const c = parseConfig(raw);
  assert.equal(c.origin.apps[0]!.access, "token");
  assert.equal(c.origin.defaultApp.access, "token");
  assert.equal(c.origin.hooks.onPlay, "http://127.0.0.1:9/h");
});

Deno.test("parseConfig() defaults the optional keys of edge origins, scheduler edges, records and steered names", () => {
  const c = parseConfig({
    edge: { origins: [{ url: "http://127.0.0.1:9000" }] },
    scheduler: {
      edges: [{
        id: "fra1",
        address: "127.0.0.2",
        latitude: 50.1,
        longitude: 8.7,
      }],
      zones: [{
        ...DEFAULTS.scheduler.zones[0],
        records: [{ name: "www", value: "127.0.0.9" }],
        steered: [{ name: "cdn" }],
      }],
    },
  });
  assert.deepEqual(c.edge.origins, [
    { url: "http://127.0.0.1:9000", weight: 1, region: "" },
  ]);
  assert.equal(c.scheduler.edges[0]!.capacity, 100);
  assert.equal(c.scheduler.edges[0]!.address6, "");
  assert.deepEqual(c.scheduler.zones[0]!.records[0], {
    name: "www",
    type: "A",
    ttl: 3600,
    value: "127.0.0.9",
  });
  assert.equal(c.scheduler.zones[0]!.steered[0]!.ttlSeconds, 30);
  assert.deepEqual(c.scheduler.zones[0]!.steered[0]!.filters, []);
  // What cannot be guessed is still demanded, by name.
  assert.throws(
    () => parseConfig({ edge: { origins: [{ weight: 2 }] } }),
    /'edge\.origins\[0\]\.url'/,
  );
  assert.throws(
    () =>
      parseConfig({
        scheduler: { edges: [{ id: "x", address: "127.0.0.2", latitude: 1 }] },
      }),
    /'scheduler\.edges\[0\]\.longitude'/,
  );
  assert.throws(
    () => parseConfig({ edge: { origins: [{ url: "http://a", wieght: 2 }] } }),
    /'edge\.origins\[0\]\.wieght'/,
  );
});

Deno.test("parseConfig() validates store.url, names the key and never shows its password", () => {
  assert.equal(parseConfig({}).store.url, "");
  for (
    const url of [
      "kv:./data/meridian.kv",
      "kv:https://api.example/kv/1",
      "redis://10.0.0.1:6379/2",
      "rediss://user:pw@cache.example",
      "redis+sentinel://:pw@s1:26379,s2/main",
    ]
  ) {
    assert.equal(parseConfig({ store: { url } }).store.url, url);
  }
  // The older key still parses next to the new one.
  assert.equal(
    parseConfig({ store: { path: "/srv/m.kv" } }).store.path,
    "/srv/m.kv",
  );
  for (
    const [url, reason] of [
      [
        "./data/meridian.kv",
        /expected "" or kv:PATH, kv:https:\/\/…, redis:\/\/…/,
      ],
      ["redis://:hunter2@h:99999", /port 1\.\.65535 expected, got 99999/],
      ["mysql://root:hunter2@db/x", /expected "" or kv:PATH/],
      ["redis://:hunter2@h/99", /database index 0\.\.15/],
    ] as const
  ) {
    assert.throws(
      () => parseConfig({ store: { url } }),
      (e: unknown) =>
        e instanceof ConfigError && e.key === "store.url" &&
        reason.test(e.message) && !e.message.includes("hunter2") &&
        e.message.startsWith("Invalid config 'store.url': got "),
      url,
    );
  }
  // MERIDIAN_STORE_URL reaches the same key.
  assert.equal(
    parseConfig(applyEnv({}, { MERIDIAN_STORE_URL: "redis://h" }).raw).store
      .url,
    "redis://h",
  );
});

Deno.test("parseConfig() reads the archive keys: an app's dvr/record, a stream's own (absent: the app's), the schedule", () => {
  const c = parseConfig({
    origin: {
      apps: [{
        name: "tv",
        dvr: { enabled: true },
        record: { enabled: true, formats: ["mp4", "flv"] },
        streams: [
          { name: "a" },
          { name: "b", dvr: { windowSeconds: 60 }, record: { enabled: false } },
        ],
      }],
      dvr: {
        schedule: [
          {
            app: "tv",
            stream: "a",
            title: "News",
            start: "19:00",
            end: "19:30",
          },
          {
            app: "tv",
            stream: "a",
            title: "Final",
            start: "2024-05-01T20:00:00Z",
            end: "2024-05-02T06:00:00+08:00",
          },
        ],
        timeZone: "Asia/Shanghai",
      },
    },
  });
  const tv = c.origin.apps[0]!;
  assert.deepEqual(tv.dvr, { enabled: true, windowSeconds: 7200, maxBytes: 0 });
  assert.deepEqual(tv.record?.formats, ["mp4", "flv"]);
  assert.equal(tv.streams[0]!.dvr, undefined, "absent: the app's applies");
  assert.deepEqual(tv.streams[1]!.dvr, { enabled: true, windowSeconds: 60 });
  assert.deepEqual(tv.streams[1]!.record, { enabled: false, formats: ["mp4"] });
  assert.equal(c.origin.dvr.schedule.length, 2);
  assert.equal(
    c.origin.record.pathPattern,
    "recordings/{app}/{stream}/{start}.{ext}",
  );
  for (
    const [raw, key] of [
      [
        { apps: [{ name: "a", dvr: { windowSeconds: 5 } }] },
        "origin.apps[0].dvr.windowSeconds",
      ],
      [
        { apps: [{ name: "a", record: { formats: ["mkv"] } }] },
        "origin.apps[0].record.formats[0]",
      ],
      [
        { apps: [{ name: "a", record: { formats: ["mp4", "mp4"] } }] },
        "origin.apps[0].record.formats",
      ],
      [{ dvr: { timeZone: "Nowhere/City" } }, "origin.dvr.timeZone"],
      [{ dvr: { maxBytes: 10 } }, "origin.dvr.maxBytes"],
      [
        { record: { pathPattern: "/abs/{start}.{ext}" } },
        "origin.record.pathPattern",
      ],
      [
        { record: { pathPattern: "a/../{start}.{ext}" } },
        "origin.record.pathPattern",
      ],
      [{ record: { pathPattern: "{start}.mp4" } }, "origin.record.pathPattern"],
      [{ record: { splitBytes: 100 } }, "origin.record.splitBytes"],
      [{ hooks: { onRecordDone: "ftp://x" } }, "origin.hooks.onRecordDone"],
      [
        {
          dvr: {
            schedule: [{
              app: "a",
              stream: "b",
              title: "t",
              start: "25:00",
              end: "26:00",
            }],
          },
        },
        "origin.dvr.schedule[0].start",
      ],
      [
        {
          dvr: {
            schedule: [{
              app: "a",
              stream: "b",
              title: "t",
              start: "2024-05-01T20:00:00Z",
              end: "2024-05-01T19:00:00Z",
            }],
          },
        },
        "origin.dvr.schedule[0]",
      ],
    ] as const
  ) {
    assert.throws(
      () => parseConfig({ origin: raw }),
      (e: Error) => e.message.startsWith(`Invalid config '${key}':`),
      key,
    );
  }
});

Deno.test("parseConfig() reads virtual-live playlists, schedules and time zones with defaults", () => {
  const c = parseConfig({
    origin: {
      virtualLive: [
        { app: "live", stream: "one", file: "a.flv" },
        {
          app: "live",
          stream: "tv",
          playlist: ["a.mp4", "b.flv"],
          loop: false,
          schedule: [{ at: "20:00", file: "news.mp4" }],
          timeZone: "Asia/Shanghai",
        },
      ],
    },
  });
  assert.deepEqual(c.origin.virtualLive[0], {
    app: "live",
    stream: "one",
    file: "a.flv",
    playlist: [],
    loop: true,
    schedule: [],
    timeZone: "UTC",
  });
  assert.deepEqual(c.origin.virtualLive[1]!.playlist, ["a.mp4", "b.flv"]);
  assert.equal(c.origin.virtualLive[1]!.loop, false);
  assert.deepEqual(c.origin.virtualLive[1]!.schedule, [{
    at: "20:00",
    file: "news.mp4",
  }]);
  assert.equal(c.origin.adminToken, "");
});

Deno.test("parseConfig() names the bad key of a virtual-live channel", () => {
  const ch = (extra: Record<string, unknown>) => ({
    origin: { virtualLive: [{ app: "live", stream: "tv", ...extra }] },
  });
  const cases: [unknown, RegExp][] = [
    [ch({}), /'origin\.virtualLive\[0\]': .*expected a 'playlist' of files/],
    [
      ch({ file: "a.flv", playlist: ["b.mp4"] }),
      /'origin\.virtualLive\[0\]': .*expected either 'file' or 'playlist'/,
    ],
    [
      ch({ playlist: [""] }),
      /'origin\.virtualLive\[0\]\.playlist\[0\]': got "", expected a file path/,
    ],
    [
      ch({ playlist: "a.mp4" }),
      /'origin\.virtualLive\[0\]\.playlist': got "a\.mp4", expected a list/,
    ],
    [
      ch({ file: "a.flv", timeZone: "Mars/Olympus" }),
      /'origin\.virtualLive\[0\]\.timeZone': got "Mars\/Olympus", expected an IANA time zone/,
    ],
    [
      ch({ file: "a.flv", schedule: [{ at: "24:00", file: "n.mp4" }] }),
      /'origin\.virtualLive\[0\]\.schedule\[0\]\.at': got "24:00", expected a time of day HH:MM/,
    ],
    [
      ch({ file: "a.flv", schedule: [{ at: "8:00", file: "n.mp4" }] }),
      /'origin\.virtualLive\[0\]\.schedule\[0\]\.at': got "8:00"/,
    ],
    [
      ch({ file: "a.flv", schedule: [{ at: "08:00" }] }),
      /'origin\.virtualLive\[0\]\.schedule\[0\]\.file'/,
    ],
    [
      ch({
        file: "a.flv",
        schedule: [{ at: "08:00", file: "x.mp4" }, {
          at: "08:00",
          file: "y.mp4",
        }],
      }),
      /'origin\.virtualLive\[0\]\.schedule': .*expected unique times \(08:00 repeats\)/,
    ],
    [
      ch({ file: "a.flv", loop: "yes" }),
      /'origin\.virtualLive\[0\]\.loop': got "yes", expected a boolean/,
    ],
    [
      {
        origin: {
          virtualLive: [{ app: "live", stream: "tv", file: "a.flv" }, {
            app: "live",
            stream: "tv",
            file: "b.flv",
          }],
        },
      },
      /'origin\.virtualLive': .*expected unique app\/stream \(live\/tv repeats\)/,
    ],
  ];
  for (const [raw, re] of cases) {
    assert.throws(
      () => parseConfig(raw),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(raw),
    );
  }
});

Deno.test("parseConfig() reads origin.relay with optional item keys, and never shows the relay secret", () => {
  const c = parseConfig({
    origin: {
      relay: {
        upstreams: [{ url: "rtmp://10.77.1.1:1935" }, {
          url: "http://10.77.1.2:8090",
          apps: ["live"],
        }],
        forward: [{ url: "rtmp://backup:1935/live" }],
        secret: "a-secret-of-20-chars",
        maxDepth: 3,
      },
    },
  });
  assert.deepEqual(c.origin.relay.upstreams, [
    { url: "rtmp://10.77.1.1:1935", apiUrl: "", apps: [] },
    { url: "http://10.77.1.2:8090", apiUrl: "", apps: ["live"] },
  ]);
  assert.deepEqual(c.origin.relay.forward, [
    { url: "rtmp://backup:1935/live", streamKey: "", apps: [], streams: [] },
  ]);
  assert.equal(c.origin.relay.maxDepth, 3);
  assert.equal(c.origin.relay.idleCloseMs, 10_000);
  assert.throws(
    () => parseConfig({ origin: { relay: { upstreams: [{ apps: [] }] } } }),
    /'origin\.relay\.upstreams\[0\]\.url'/,
  );
  assert.throws(
    () =>
      parseConfig({
        origin: { relay: { forward: [{ url: "rtmp://a", apps: [] }] } },
      }),
    /'origin\.relay\.forward\[0\]\.url'.*rtmp\(s\):\/\/host/,
  );
  try {
    parseConfig({ origin: { relay: { secret: "tooShortSecret" } } });
    assert.fail("accepted a 14-character secret");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.doesNotMatch(e.message, /tooShortSecret/);
    assert.match(e.message, /origin\.relay\.secret/);
  }
  try {
    parseConfig({
      origin: {
        relay: { forward: [{ url: "rtmp://a/app", streamKey: "live key?x" }] },
      },
    });
    assert.fail("accepted a stream key with a space");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.doesNotMatch(e.message, /live key/);
  }
});
