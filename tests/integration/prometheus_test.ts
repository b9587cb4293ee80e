/**
 * The proof of issue 21: Meridian as an operator runs it (`main.ts`, every role, access logs
 * on), scraped by Debian's real Prometheus every second, with a real publisher (ffmpeg looping
 * media/demo.flv), real players through the edge (ffprobe over HLS, an HTTP-FLV viewer) and
 * real DNS clients (dig). Then:
 *
 * - Prometheus's HTTP API shows the series moving: viewers > 0, edge hits rising between two
 *   scrapes, DNS queries by rcode, every job up, our alert rules loaded;
 * - every dashboard query runs in Prometheus without an error;
 * - `promtool check metrics` is clean on every port, and every series the dashboards and
 *   alerts read is in some port's scrape (or on the documented list of other work's);
 * - the access logs parse back: one line per request we sent through the edge, with its
 *   status, the RTMP publish, each dig query; no secret we sent appears in any line.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { parseCombinedLine, parseJsonLines } from "../_helpers/access_lines.ts";
import { dig, hasDnsPeer } from "../_helpers/dns_wire.ts";
import {
  hasBinary,
  probeStreams,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { freeTcpPort } from "../_helpers/ports.ts";
import {
  hasPromtool,
  parsePromText,
  type PromScrape,
  promtoolCheckMetrics,
} from "../_helpers/prom_text.ts";
import {
  dashboardExprs,
  documentedNames,
  familyOf,
  metricNamesOf,
  ruleExprs,
} from "../_helpers/promql_names.ts";

const ROOT = new URL("../../", import.meta.url);
const MAIN = new URL("main.ts", ROOT).pathname;
const DEMO = new URL("media/demo.flv", ROOT).pathname;
const PROM_DIR = new URL("deploy/prometheus/", ROOT);
const PROMETHEUS = "/usr/bin/prometheus";

async function hasPrometheus(): Promise<boolean> {
  try {
    return (await new Deno.Command(PROMETHEUS, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}

const MISSING = [
  ...(await hasPrometheus() ? [] : ["prometheus (/usr/bin/prometheus)"]),
  ...(await hasPromtool() ? [] : ["promtool"]),
  ...(await hasBinary("ffmpeg") && await hasBinary("ffprobe")
    ? []
    : ["ffmpeg/ffprobe"]),
  ...(await hasDnsPeer("dig") ? [] : ["dig"]),
];
if (MISSING.length > 0) {
  console.warn(
    `SKIP tests/integration/prometheus_test.ts: ${
      MISSING.join(", ")
    } not installed (apt-get install prometheus ffmpeg bind9-dnsutils)`,
  );
}

/** A value of an instant query's first result, or undefined when there is none. */
type Sample = { metric: Record<string, string>; value: [number, string] };

async function query(promPort: number, expr: string): Promise<Sample[]> {
  const res = await fetch(
    `http://127.0.0.1:${promPort}/api/v1/query?query=${
      encodeURIComponent(expr)
    }`,
  );
  const body = await res.json();
  if (body.status !== "success") {
    throw new Error(`${expr}: ${body.errorType} ${body.error}`);
  }
  return body.data.result as Sample[];
}

async function scalar(promPort: number, expr: string): Promise<number> {
  const r = await query(promPort, expr);
  return r.length ? Number(r[0]!.value[1]) : NaN;
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal = "SIGKILL") {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

Deno.test({
  name:
    "prometheus: a real Prometheus scrapes every role of a running Meridian; series move, dashboards run, promtool is clean, access logs match what was sent with no secret",
  ignore: MISSING.length > 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-prometheus-" });
    const p = {
      rtmp: freeTcpPort(),
      origin: freeTcpPort(),
      edge: freeTcpPort(),
      dns: freeTcpPort(),
      sched: freeTcpPort(),
      control: freeTcpPort(),
      prom: freeTcpPort(),
    };
    const log = (name: string) => `${dir}/${name}.log`;
    await Deno.writeTextFile(
      `${dir}/meridian.yaml`,
      [
        `dataDir: ${dir}/data`,
        "log: { level: warn, format: json }",
        "origin:",
        `  rtmpPort: ${p.rtmp}`,
        `  httpPort: ${p.origin}`,
        "  virtualLive: []",
        "  hls: { targetDurationSeconds: 1 }",
        `  accessLog: { enabled: true, format: combined, destination: ${
          log("origin")
        } }`,
        "edge:",
        `  port: ${p.edge}`,
        `  origins: [{ url: "http://127.0.0.1:${p.origin}" }]`,
        `  accessLog: { enabled: true, format: json, destination: ${
          log("edge")
        } }`,
        "scheduler:",
        `  dnsPort: ${p.dns}`,
        `  httpPort: ${p.sched}`,
        "  registry: { source: config }",
        "  health: { intervalMs: 500 }",
        `  edges: [{ id: local, address: 127.0.0.1, latitude: 50.1, longitude: 8.7, healthUrl: "http://127.0.0.1:${p.edge}/healthz" }]`,
        `  accessLog: { enabled: true, format: json, destination: ${
          log("scheduler")
        }, dnsSampleRate: 1 }`,
        "control:",
        `  port: ${p.control}`,
        `  accessLog: { enabled: true, format: json, destination: ${
          log("control")
        } }`,
        "",
      ].join("\n"),
    );
    const ports = {
      "meridian_origin": p.origin,
      "meridian_edge": p.edge,
      "meridian_scheduler": p.sched,
      "meridian_control": p.control,
    };
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      [
        "global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }",
        `rule_files: [${new URL("alerts.yml", PROM_DIR).pathname}]`,
        "scrape_configs:",
        ...Object.entries(ports).map(([job, port]) =>
          `  - { job_name: ${job}, static_configs: [{ targets: ["127.0.0.1:${port}"] }] }`
        ),
        "",
      ].join("\n"),
    );

    const meridian = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN, "--config", `${dir}/meridian.yaml`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let printed = "";
    const reading = (async () => {
      for await (
        const s of meridian.stdout.pipeThrough(new TextDecoderStream())
      ) {
        printed += s;
      }
    })();
    const meridianErr = new Response(meridian.stderr).text();
    let prometheus: Deno.ChildProcess | undefined;
    let promErr: Promise<string> | undefined;
    let publisher: ReturnType<typeof startPeer> | undefined;
    let flv: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let pumping: Promise<void> | undefined;
    let meridianStatus: Deno.CommandStatus | undefined;
    /** Every request sent through the edge, and the status it got. */
    const sent: { path: string; status: number }[] = [];
    const edgeGet = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${p.edge}${path}`);
      await r.body?.cancel();
      sent.push({ path, status: r.status });
      return r;
    };
    try {
      await waitFor(
        "the start-up lines of all four roles",
        () =>
          ["origin:", "control:", "edge:", "scheduler:"].every((r) =>
            printed.includes(`Meridian ${r}`)
          ),
        30_000,
        50,
      );
      prometheus = new Deno.Command(PROMETHEUS, {
        args: [
          `--config.file=${dir}/prometheus.yml`,
          `--storage.tsdb.path=${dir}/tsdb`,
          `--web.listen-address=127.0.0.1:${p.prom}`,
          "--log.level=warn",
        ],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      promErr = new Response(prometheus.stderr).text();
      publisher = startPeer("ffmpeg", [
        "-v",
        "error",
        "-nostdin",
        "-re",
        "-stream_loop",
        "-1",
        "-i",
        DEMO,
        "-c",
        "copy",
        "-f",
        "flv",
        `rtmp://127.0.0.1:${p.rtmp}/live/obs?key=PUBSECRET`,
      ], 60_000);

      // A player through the edge (HLS with a token in the URL), and an HTTP-FLV viewer.
      await waitFor(
        "HLS through the edge",
        async () => {
          const r = await fetch(`http://127.0.0.1:${p.edge}/live/obs.m3u8`);
          const t = await r.text();
          return r.ok && t.includes("#EXTINF");
        },
        20_000,
        200,
      );
      const probed = await probeStreams(
        `http://127.0.0.1:${p.edge}/live/obs.m3u8?token=PLAYSECRET`,
      );
      assert.deepEqual(probed.map((s) => s.codec_name).sort(), ["aac", "h264"]);
      const res = await fetch(`http://127.0.0.1:${p.edge}/live/obs.flv`);
      assert.equal(res.status, 200);
      flv = res.body!.getReader();
      pumping = (async () => {
        while (!(await flv!.read().catch(() => ({ done: true }))).done) {
          // discard: a viewer that keeps up
        }
      })();

      // Cache hits: the playlist and its segments, a few times.
      const hits = async () => {
        const list = await (await fetch(
          `http://127.0.0.1:${p.edge}/live/obs.m3u8`,
        )).text();
        const segment = list.split("\n").find((l) => l.endsWith(".ts"))!;
        for (let i = 0; i < 3; i++) {
          await edgeGet("/live/obs.m3u8");
          await edgeGet(`/live/obs/${segment}`);
        }
      };
      await hits();
      await edgeGet("/live/obs.m3u8?token=SECRETTOKEN&cred=SECRETCRED");

      // DNS: three answers and one name outside our zones.
      for (let i = 0; i < 3; i++) {
        assert.match(
          await dig(p.dns, "live.meridian.test", "A"),
          /status: NOERROR/,
        );
      }
      assert.match(await dig(p.dns, "example.com", "A"), /status: REFUSED/);

      // Prometheus sees it all.
      await waitFor(
        "Prometheus ready",
        async () => {
          const r = await fetch(`http://127.0.0.1:${p.prom}/-/ready`);
          await r.body?.cancel();
          return r.ok;
        },
        20_000,
        200,
      );
      await waitFor(
        "every job up",
        async () =>
          (await query(p.prom, 'up{job=~"meridian_.*"} == 1')).length === 4,
        15_000,
        250,
      );
      const viewers = await waitFor(
        "viewers > 0",
        async () => {
          const v = await scalar(
            p.prom,
            'sum(meridian_origin_viewers{job="meridian_origin"})',
          );
          const e = await scalar(
            p.prom,
            'sum(meridian_edge_flv_viewers{job="meridian_edge"})',
          );
          return v > 0 && e > 0 ? { origin: v, edge: e } : undefined;
        },
        15_000,
        250,
      );
      assert.ok(viewers.edge >= 1);
      const hitsBefore = await waitFor(
        "edge hits scraped",
        async () => {
          const v = await scalar(
            p.prom,
            'sum(meridian_edge_responses_total{job="meridian_edge",cache="hit"})',
          );
          return v >= 6 ? v : undefined;
        },
        15_000,
        250,
      );
      await hits();
      await waitFor(
        "edge hits rising",
        async () =>
          await scalar(
            p.prom,
            'sum(meridian_edge_responses_total{job="meridian_edge",cache="hit"})',
          ) >= hitsBefore + 6,
        15_000,
        250,
      );
      const byRcode = await waitFor(
        "DNS queries by rcode",
        async () => {
          const r = await query(
            p.prom,
            'sum by (rcode) (meridian_dns_queries_total{job="meridian_scheduler"})',
          );
          const m = Object.fromEntries(
            r.map((s) => [s.metric.rcode, Number(s.value[1])]),
          );
          return (m.NOERROR ?? 0) >= 3 && (m.REFUSED ?? 0) >= 1 ? m : undefined;
        },
        15_000,
        250,
      );
      assert.ok(byRcode.NOERROR! >= 3);
      await waitFor(
        "ingest moving",
        async () =>
          await scalar(
            p.prom,
            'sum(rate(meridian_origin_ingest_bytes_total{protocol="rtmp"}[10s]))',
          ) > 0,
        15_000,
        250,
      );
      // Two scrapes of control answered (its access log is checked for them after the stop;
      // on a loaded machine the first scrapes can time out).
      await waitFor(
        "two scrapes of control",
        async () =>
          await scalar(
            p.prom,
            'sum_over_time(up{job="meridian_control"}[5m])',
          ) >= 2,
        20_000,
        250,
      );
      const rules = await (await fetch(
        `http://127.0.0.1:${p.prom}/api/v1/rules`,
      )).json();
      const loaded = rules.data.groups.flatMap((g: { rules: unknown[] }) =>
        g.rules
      ).length;
      const alertsYaml = parseYaml(
        await Deno.readTextFile(new URL("alerts.yml", PROM_DIR)),
      );
      assert.equal(loaded, ruleExprs(alertsYaml).length, "every rule loaded");

      // Every dashboard query runs (PromQL valid against real data).
      for (const name of ["overview", "origin", "edge", "scheduler"]) {
        const d = JSON.parse(
          await Deno.readTextFile(new URL(`grafana/${name}.json`, PROM_DIR)),
        );
        for (const { panel, expr } of dashboardExprs(d)) {
          await query(p.prom, expr.replaceAll("$instance", ".*")).catch((e) => {
            throw new Error(`${name}/${panel}: ${e.message}`);
          });
        }
      }

      // Every port: promtool clean; the families dashboards and alerts read are exported.
      const scrapes: PromScrape[] = [];
      for (const [job, port] of Object.entries(ports)) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`))
          .text();
        assert.equal(await promtoolCheckMetrics(text), "", job);
        scrapes.push(parsePromText(text));
      }
      const exported = new Set(scrapes.flatMap((s) => [...s.types.keys()]));
      exported.add("up");
      const elsewhere = documentedNames(
        await Deno.readTextFile(new URL("README.md", PROM_DIR)),
        "## Series other work fills",
      );
      const missing: string[] = [];
      for (const name of ["overview", "origin", "edge", "scheduler"]) {
        const d = JSON.parse(
          await Deno.readTextFile(new URL(`grafana/${name}.json`, PROM_DIR)),
        );
        for (const { expr } of dashboardExprs(d)) {
          for (const n of metricNamesOf(expr)) {
            const f = familyOf(n, exported);
            if (!exported.has(f) && !elsewhere.has(f)) {
              missing.push(`${name}: ${n}`);
            }
          }
        }
      }
      for (const { alert, expr } of ruleExprs(alertsYaml)) {
        for (const n of metricNamesOf(expr)) {
          const f = familyOf(n, exported);
          if (!exported.has(f) && !elsewhere.has(f)) {
            missing.push(`${alert}: ${n}`);
          }
        }
      }
      assert.deepEqual(missing, []);
      // And every family a role exports is in README.md's metrics section.
      const documented = documentedNames(
        await Deno.readTextFile(new URL("README.md", ROOT)),
        "## Metrics, access logs and alerts",
      );
      assert.deepEqual(
        [...exported].filter((n) => n !== "up" && !documented.has(n)),
        [],
      );
    } catch (e) {
      throw new Error(
        `${e instanceof Error ? e.stack : e}\nmeridian stdout: ${printed}`,
      );
    } finally {
      await flv?.cancel().catch(() => {});
      await pumping;
      await publisher?.stop();
      if (prometheus) {
        kill(prometheus, "SIGTERM");
        const t = setTimeout(() => kill(prometheus!), 5_000);
        await prometheus.status;
        clearTimeout(t);
        await promErr;
      }
      // SIGTERM: every role closes its access log, writing what it buffered.
      kill(meridian, "SIGTERM");
      const t = setTimeout(() => kill(meridian), 10_000);
      meridianStatus = await meridian.status;
      clearTimeout(t);
      await reading;
      const err = await meridianErr;
      if (meridianStatus.code !== 0) {
        console.error(`meridian exited ${meridianStatus.code}: ${err}`);
      }
    }

    try {
      assert.equal(meridianStatus.code, 0, "meridian stopped cleanly");
      const texts = await Promise.all(
        ["origin", "edge", "scheduler", "control"].map((r) =>
          Deno.readTextFile(log(r))
        ),
      );
      for (const t of texts) {
        for (const secret of ["SECRET", "PUBSECRET", "PLAYSECRET"]) {
          assert.ok(!t.includes(secret), `${secret} in a log line`);
        }
      }
      const [originLog, edgeLog, schedLog, controlLog] = texts as [
        string,
        string,
        string,
        string,
      ];
      // The edge: a line per request we sent, with our status; ffprobe's and the FLV viewer's.
      const edgeLines = parseJsonLines(edgeLog);
      const redact = (path: string) =>
        path.replace(/(token|cred)=[^&]*/g, "$1=<redacted>");
      for (const r of sent) {
        assert.ok(
          edgeLines.some((l) =>
            l.path === redact(r.path) && l.status === r.status
          ),
          `no edge line for ${r.path} ${r.status}`,
        );
      }
      assert.ok(
        edgeLines.filter((l) => l.cache === "hit").length >= 12,
        "the hits",
      );
      assert.ok(
        edgeLines.some((l) =>
          l.path === "/live/obs.m3u8?token=<redacted>" &&
          String(l.userAgent).startsWith("Lavf")
        ),
        "ffprobe's playlist request",
      );
      const flvLine = edgeLines.find((l) => l.path === "/live/obs.flv");
      assert.ok(
        flvLine && flvLine.cache === "live" && (flvLine.bytes as number) > 0,
      );
      // The origin: the publish (combined form), the edge's pulls.
      const originLines = originLog.trim().split("\n").map(parseCombinedLine);
      const publish = originLines.find((l) =>
        l.request === "PUBLISH /live/obs RTMP"
      );
      assert.ok(publish, originLog.slice(0, 2000));
      assert.ok(Number(publish.extra.in) > 100_000, "bytes in");
      assert.ok(
        originLines.some((l) => l.request.startsWith("GET /live/obs.flv ")),
        "the edge's upstream",
      );
      // The scheduler: every dig query (sample rate 1) and Prometheus's scrapes.
      const dnsLines = parseJsonLines(schedLog).filter((l) => l.type === "dns");
      assert.equal(
        dnsLines.filter((l) =>
          l.qname === "live.meridian.test." && l.rcode === "NOERROR" &&
          l.qtype === "A"
        ).length,
        3,
      );
      assert.equal(
        dnsLines.filter((l) =>
          l.qname === "example.com." && l.rcode === "REFUSED"
        )
          .length,
        1,
      );
      const scrapesLogged = parseJsonLines(controlLog).filter((l) =>
        l.path === "/metrics" && String(l.userAgent).startsWith("Prometheus/")
      );
      assert.ok(scrapesLogged.length >= 2, "Prometheus's scrapes of control");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
