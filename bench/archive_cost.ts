/**
 * What the archive costs per stream: CPU and disk writes of the origin with N streams of
 * 2 Mbit/s (H.264 720p + AAC, ffmpeg `-re -c copy` loops), live only (HLS on), with the DVR,
 * and with the DVR plus an MP4 recording of each stream; beside nginx-rtmp live + HLS, and
 * with `record all` (its FLV recorder), in the same run. SRS is not installed on this machine.
 *
 * The server under test is pinned to core 1, the publishers to core 0. CPU is the server's
 * process tree's utime + stime over the measured seconds; disk is its `/proc/PID/io`
 * `wchar` (bytes written through the kernel) and `write_bytes` (sent to the block layer).
 *
 * Run: deno run -A bench/archive_cost.ts [--streams 4] [--seconds 20] [--warmup 8]
 *   (needs /tmp/meridian-bench-media/one.flv: run bench/archive_clip.ts once first)
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    streams: { type: "string" },
    seconds: { type: "string" },
    warmup: { type: "string" },
    targets: { type: "string" },
  },
});
const N = Number(values.streams ?? 4);
const SECONDS = Number(values.seconds ?? 20);
const WARMUP = Number(values.warmup ?? 8);
const SOURCE = "/tmp/meridian-bench-media/one.flv";
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const TICKS = 100; // USER_HZ

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/** `pid` and its descendants. */
function tree(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(e.name), ppid);
    } catch {
      // gone
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const [p, pp] of parent) if (pp === out[i]) out.push(p);
  }
  return out;
}

function sample(
  pid: number,
): { cpu: number; wchar: number; writeBytes: number } {
  let cpu = 0;
  let wchar = 0;
  let writeBytes = 0;
  for (const p of tree(pid)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${p}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      cpu += (Number(f[11]) + Number(f[12])) / TICKS;
      const io = Deno.readTextFileSync(`/proc/${p}/io`);
      wchar += Number(/wchar: (\d+)/.exec(io)?.[1] ?? 0);
      writeBytes += Number(/^write_bytes: (\d+)/m.exec(io)?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return { cpu, wchar, writeBytes };
}

async function waitPort(port: number, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`port ${port} did not open`);
}

interface Target {
  readonly name: string;
  start(
    dir: string,
    rtmpPort: number,
  ): Promise<{ pid: number; stop(): Promise<void> }>;
}

function meridian(name: string, origin: string): Target {
  return {
    name,
    async start(dir, rtmpPort) {
      const cfg = `${dir}/m.yaml`;
      await Deno.writeTextFile(
        cfg,
        [
          `dataDir: ${dir}/data`,
          "log: { level: warn, format: json }",
          `origin: { rtmpPort: ${rtmpPort}, httpPort: ${freePort()}, virtualLive: [], adminToken: bench-admin-token-0123456789,`,
          `  vod: { libraries: [{ path: "${dir}/lib", prefix: /vod/ }] }, ${origin} }`,
          "",
        ].join("\n"),
      );
      const child = new Deno.Command("taskset", {
        args: [
          "-c",
          "1",
          Deno.execPath(),
          "run",
          "-A",
          "--quiet",
          MAIN,
          "--roles",
          "origin",
          "--config",
          cfg,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitPort(rtmpPort);
      return {
        pid: child.pid,
        async stop() {
          child.kill("SIGTERM");
          await child.status;
        },
      };
    },
  };
}

function nginxRtmp(name: string, record: boolean): Target {
  return {
    name,
    async start(dir, rtmpPort) {
      await Deno.mkdir(`${dir}/hls`, { recursive: true });
      await Deno.mkdir(`${dir}/rec`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/nginx.conf`,
        `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
rtmp {
  server {
    listen 127.0.0.1:${rtmpPort};
    chunk_size 4096;
    application live {
      live on;
      hls on;
      hls_path ${dir}/hls;
      hls_fragment 2s;
      hls_playlist_length 10s;
      ${record ? `record all; record_path ${dir}/rec; record_unique on;` : ""}
    }
  }
}
`,
      );
      const child = new Deno.Command("taskset", {
        args: ["-c", "1", "nginx", "-c", `${dir}/nginx.conf`, "-p", dir],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitPort(rtmpPort);
      return {
        pid: child.pid,
        async stop() {
          child.kill("SIGTERM");
          await child.status;
        },
      };
    },
  };
}

const ALL: Target[] = [
  meridian("Meridian live (HLS)", "defaultApp: { dvr: { enabled: false } }"),
  meridian(
    "Meridian + DVR",
    "defaultApp: { dvr: { enabled: true, windowSeconds: 600 } }",
  ),
  meridian(
    "Meridian + DVR + MP4 recording",
    "defaultApp: { dvr: { enabled: true, windowSeconds: 600 }, record: { enabled: true, formats: [mp4] } }",
  ),
  nginxRtmp("nginx-rtmp live (HLS)", false),
  nginxRtmp("nginx-rtmp + record all (FLV)", true),
];
const wanted = values.targets?.split(",");
const targets = wanted
  ? ALL.filter((t) => wanted.some((w) => t.name.includes(w)))
  : ALL;

console.log(
  `| server (${N} streams × 2 Mbit/s, ${SECONDS} s) | CPU, % of a core | per stream | written (wchar) per stream | to disk (write_bytes) per stream |`,
);
console.log("| --- | --- | --- | --- | --- |");
for (const t of targets) {
  const dir = await Deno.makeTempDir({ prefix: "meridian-cost-" });
  const rtmpPort = freePort();
  const server = await t.start(dir, rtmpPort);
  const pubs: Deno.ChildProcess[] = [];
  try {
    for (let i = 0; i < N; i++) {
      pubs.push(
        new Deno.Command("taskset", {
          args: [
            "-c",
            "0",
            "ffmpeg",
            "-v",
            "error",
            "-nostdin",
            "-re",
            "-stream_loop",
            "-1",
            "-i",
            SOURCE,
            "-c",
            "copy",
            "-t",
            String(WARMUP + SECONDS + 10),
            "-f",
            "flv",
            `rtmp://127.0.0.1:${rtmpPort}/live/s${i}`,
          ],
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
    await new Promise((r) => setTimeout(r, WARMUP * 1000));
    const a = sample(server.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const b = sample(server.pid);
    const s = (performance.now() - t0) / 1000;
    const cpu = ((b.cpu - a.cpu) / s) * 100;
    const mb = (x: number) => `${(x / s / N / 1e6).toFixed(3)} MB/s`;
    console.log(
      `| ${t.name} | ${cpu.toFixed(1)} | ${(cpu / N).toFixed(2)} | ${
        mb(b.wchar - a.wchar)
      } | ${mb(b.writeBytes - a.writeBytes)} |`,
    );
  } finally {
    for (const p of pubs) {
      try {
        p.kill("SIGKILL");
      } catch {
        // gone
      }
      await p.status;
    }
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
