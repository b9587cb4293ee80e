import assert from "node:assert/strict";
import {
  ACCESS_LOG_DEFAULTS,
  applyEnv,
  ConfigError,
  DEFAULTS,
  parseConfig,
  parseYamlConfig,
} from "../../config/mod.ts";

Deno.test("parseConfig(): every role has an accessLog block, off by default, JSON to stdout", () => {
  for (
    const section of [
      DEFAULTS.origin,
      DEFAULTS.edge,
      DEFAULTS.scheduler,
      DEFAULTS.control,
    ]
  ) {
    assert.deepEqual(
      {
        enabled: section.accessLog.enabled,
        format: section.accessLog.format,
        destination: section.accessLog.destination,
      },
      ACCESS_LOG_DEFAULTS,
    );
  }
  assert.equal(DEFAULTS.scheduler.accessLog.dnsSampleRate, 0.01);
  assert.deepEqual(DEFAULTS.metrics.labelLimits, {
    stream: 100,
    app: 32,
    edge: 200,
    origin: 64,
  });
});

Deno.test("parseYamlConfig() and applyEnv() read access log and label limit keys alike", () => {
  const c = parseConfig(parseYamlConfig(
    [
      "edge:",
      "  accessLog: { enabled: true, format: combined, destination: /var/log/meridian/edge.log }",
      "scheduler:",
      "  accessLog: { enabled: true, dnsSampleRate: 0.5 }",
      "metrics: { labelLimits: { stream: 500 } }",
    ].join("\n"),
  ));
  assert.equal(c.edge.accessLog.enabled, true);
  assert.equal(c.edge.accessLog.format, "combined");
  assert.equal(c.edge.accessLog.destination, "/var/log/meridian/edge.log");
  assert.equal(c.scheduler.accessLog.dnsSampleRate, 0.5);
  assert.equal(c.scheduler.accessLog.format, "json");
  assert.equal(c.metrics.labelLimits.stream, 500);
  assert.equal(c.metrics.labelLimits.edge, 200);
  const { raw, unknown } = applyEnv({}, {
    MERIDIAN_ORIGIN_ACCESS_LOG_ENABLED: "true",
    MERIDIAN_ORIGIN_ACCESS_LOG_DESTINATION: "stderr",
  });
  assert.deepEqual(unknown, []);
  const env = parseConfig(raw);
  assert.equal(env.origin.accessLog.enabled, true);
  assert.equal(env.origin.accessLog.destination, "stderr");
});

Deno.test("parseConfig() names a bad access log or label limit key, its value and what was expected", () => {
  const cases: [unknown, RegExp][] = [
    [
      { edge: { accessLog: { format: "xml" } } },
      /'edge\.accessLog\.format': got "xml", expected one of json, combined/,
    ],
    [
      { control: { accessLog: { destination: " " } } },
      /'control\.accessLog\.destination': got " ", expected stdout, stderr or a file path/,
    ],
    [
      { scheduler: { accessLog: { dnsSampleRate: 2 } } },
      /'scheduler\.accessLog\.dnsSampleRate': got 2, expected a number 0\.\.1/,
    ],
    [
      { metrics: { labelLimits: { stream: 0 } } },
      /'metrics\.labelLimits\.stream': got 0, expected an integer 1\.\.10000/,
    ],
  ];
  for (const [raw, re] of cases) {
    assert.throws(
      () => parseConfig(raw),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      String(re),
    );
  }
});
