/**
 * deploy/prometheus: the scrape config and alert rules pass `promtool check` and the alerts'
 * unit tests pass `promtool test rules`; the Grafana dashboards are well-formed and every
 * series they and the alerts read is a family README.md documents (or one other work fills,
 * listed in deploy/prometheus/README.md).
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { hasPromtool } from "../_helpers/prom_text.ts";
import {
  dashboardExprs,
  documentedNames,
  familyOf,
  metricNamesOf,
  ruleExprs,
} from "../_helpers/promql_names.ts";

const DIR = new URL("../../deploy/prometheus/", import.meta.url);
const HAS_PROMTOOL = await hasPromtool();
if (!HAS_PROMTOOL) {
  console.warn(
    "SKIP promtool checks: 'promtool' not on PATH (apt-get install prometheus)",
  );
}
const DASHBOARDS = ["overview", "origin", "edge", "scheduler"];

async function promtool(...args: string[]): Promise<string> {
  const out = await new Deno.Command("promtool", {
    args,
    cwd: DIR.pathname,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const dec = new TextDecoder();
  const text = dec.decode(out.stdout) + dec.decode(out.stderr);
  assert.ok(out.success, `promtool ${args.join(" ")}:\n${text}`);
  return text;
}

Deno.test({
  name:
    "deploy/prometheus: promtool checks the scrape config and the rules, and the alerts' unit tests pass",
  ignore: !HAS_PROMTOOL,
  async fn() {
    assert.match(
      await promtool("check", "config", "prometheus.yml"),
      /SUCCESS/,
    );
    assert.match(
      await promtool("check", "rules", "alerts.yml"),
      /SUCCESS: \d+ rules found/,
    );
    assert.match(await promtool("test", "rules", "alerts_test.yml"), /SUCCESS/);
  },
});

Deno.test("deploy/prometheus: the scrape config has a job per role with the multi-region example's edges", async () => {
  const config = parseYaml(
    await Deno.readTextFile(new URL("prometheus.yml", DIR)),
  ) as {
    scrape_configs: {
      job_name: string;
      static_configs: { targets: string[]; labels?: Record<string, string> }[];
    }[];
  };
  const jobs = new Map(config.scrape_configs.map((j) => [j.job_name, j]));
  assert.deepEqual([...jobs.keys()].sort(), [
    "meridian_control",
    "meridian_edge",
    "meridian_origin",
    "meridian_scheduler",
  ]);
  // Every edge of deploy/examples/scheduler.yaml, by id and address.
  const scheduler = parseYaml(
    await Deno.readTextFile(
      new URL("../examples/scheduler.yaml", DIR),
    ),
  ) as { scheduler: { edges: { id: string; address: string }[] } };
  const scraped = jobs.get("meridian_edge")!.static_configs.map((s) =>
    `${s.labels?.edge} ${s.targets[0]}`
  );
  assert.deepEqual(
    scraped.sort(),
    scheduler.scheduler.edges.map((e) => `${e.id} ${e.address}:8080`).sort(),
  );
});

Deno.test("deploy/prometheus: dashboards are well-formed and read only documented series", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", DIR));
  const documented = documentedNames(
    readme,
    "## Metrics, access logs and alerts",
  );
  const elsewhere = documentedNames(
    await Deno.readTextFile(new URL("README.md", DIR)),
    "## Series other work fills",
  );
  assert.ok(documented.size > 80, `${documented.size} documented families`);
  assert.deepEqual([...elsewhere], ["meridian_dvr_disk_free_ratio"]);
  const known = new Set([...documented, ...elsewhere, "up"]);
  const unknown: string[] = [];
  const uids = new Set<string>();
  for (const name of DASHBOARDS) {
    const d = JSON.parse(
      await Deno.readTextFile(new URL(`grafana/${name}.json`, DIR)),
    );
    assert.ok(!uids.has(d.uid), `uid ${d.uid} twice`);
    uids.add(d.uid);
    assert.match(d.title, /^Meridian \/ /);
    assert.ok(
      d.templating.list.some((v: { name: string }) => v.name === "datasource"),
    );
    const exprs = dashboardExprs(d);
    assert.ok(exprs.length >= 10, `${name}: ${exprs.length} queries`);
    for (const { panel, expr } of exprs) {
      assert.ok(expr.trim() !== "", `${name}/${panel}: empty query`);
      for (const n of metricNamesOf(expr)) {
        if (!known.has(familyOf(n, known))) {
          unknown.push(`${name}/${panel}: ${n}`);
        }
      }
    }
  }
  const rules = parseYaml(
    await Deno.readTextFile(new URL("alerts.yml", DIR)),
  );
  for (const { alert, expr } of ruleExprs(rules)) {
    for (const n of metricNamesOf(expr)) {
      if (!known.has(familyOf(n, known))) unknown.push(`alert ${alert}: ${n}`);
    }
  }
  assert.deepEqual(unknown, []);
});

Deno.test("metricNamesOf() reads series names, not label names, values or functions", () => {
  assert.deepEqual(
    [
      ...metricNamesOf(
        'histogram_quantile(0.99, sum by (le, cache) (rate(meridian_edge_ttfb_seconds_bucket{cache=~"hit|miss",instance=~"$instance"}[5m]))) / up{job="meridian_x_total"}',
      ),
    ],
    ["meridian_edge_ttfb_seconds_bucket", "up"],
  );
});
