#!/usr/bin/env bash
# GeoDNS benchmark of Meridian's scheduler beside gdnsd, PowerDNS and the bare Deno responder
# (Deno.listenDatagram + hand-built answer), using the shared harness (../shared/bench, read-only)
# with Meridian as its `custom` target, in the same run.
#
# usage (from the project root):
#   bench/run_dns_bench.sh [DURATION=15] [REPEATS=2] [PARTS="peers p99 agree 2core"]
# parts:
#   peers  dns/run_dns.sh DURATION REPEATS "gdnsd pdns deno-listen-raw custom" (each server pinned to
#          core 1, dnsperf to core 0; static, fixed-ECS and 20,000-ECS query sets; max and 20k qps)
#   p99    latency percentiles at half of each server's max qps (geo-varied-ecs), from dnsperf -v
#          per-query latencies (dnsperf 2.10 prints no percentiles): Meridian, deno-listen-raw, gdnsd;
#          two passes of P99_SECONDS (default 10) each: "start" (2 s after the port opens) and
#          "warm" (right after)
#   agree  how many of the 20,000 ECS subnets get the peers' answer (the continent of the peers'
#          converted country database) from Meridian's distance-based chain (no sockets)
#   2core  extra info only: servers not pinned (taskset -c 0,1, sharing core 0 with dnsperf),
#          Meridian with dns.workers 1 and 2, and deno-listen-raw; 1 repeat
# env: PEERS (servers of the peers part, default "gdnsd pdns deno-listen-raw custom"),
#      UDP_SOCKET (scheduler.dns.udpSocket: auto = the batching libc socket on Linux, deno =
#      Deno.listenDatagram), BENCH (default ../shared/bench), RUN (/tmp/bench-run), RESULTS (default
#      $RUN/results/meridian-dns-<UTC time>; never beside the shared harness)
# Meridian runs from a copy of the working tree taken at start ($RUN/meridian-src-dns), so edits
# made by others during the run do not change the server under test. Everything is bounded in
# time and goes to 127.0.0.1 only. Nothing is killed by name.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$(cd "$ROOT/../shared/bench" && pwd)}
export RUN=${RUN:-/tmp/bench-run}
export RESULTS=${RESULTS:-$RUN/results/meridian-dns-$(date -u +%Y%m%dT%H%M%SZ)}
DUR=${1:-15}
REP=${2:-2}
PARTS=${3:-"peers p99 agree 2core"}
mkdir -p "$RUN" "$RESULTS"
# shellcheck source=/dev/null
. "$BENCH/lib.sh"

SRC_DIR=$RUN/meridian-src-dns
rm -rf "$SRC_DIR" && mkdir -p "$SRC_DIR"
(cd "$ROOT" && tar --exclude=./.git --exclude=./data --exclude=./tests -cf - .) | tar -xf - -C "$SRC_DIR"
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l)
UDP_SOCKET=${UDP_SOCKET:-auto}
meridian_cmd() { # $1 = dns.workers
  echo "env -C $SRC_DIR MERIDIAN_SCHEDULER_DNS_WORKERS=$1 MERIDIAN_SCHEDULER_DNS_UDP_SOCKET=$UDP_SOCKET deno run -A main.ts --roles scheduler --config bench/dns_bench.yaml >>$RESULTS/meridian.log 2>&1"
}
export CUSTOM_PORT=5399
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "cpu:  $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), mem $(free -g | awk '/Mem/{print $2}') GiB"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "deno: $(deno --version | head -1)  dnsperf: $(dpkg-query -W -f='${Version}' dnsperf)  gdnsd: $(dpkg-query -W -f='${Version}' gdnsd)  pdns: $(dpkg-query -W -f='${Version}' pdns-server)"
  echo "meridian: $GIT_REV (+$DIRTY uncommitted paths), config bench/dns_bench.yaml"
} >>"$RESULTS/env.txt"

# ---------------------------------------------------------------- 1. beside the peers, pinned
if [[ " $PARTS " == *" peers "* ]]; then
  CUSTOM_CMD=$(meridian_cmd 1) CUSTOM_VERSION="meridian $GIT_REV (+$DIRTY), dns.workers 1, udpSocket $UDP_SOCKET, $(deno --version | head -1)" \
    "$BENCH/dns/run_dns.sh" "$DUR" "$REP" "${PEERS:-gdnsd pdns deno-listen-raw custom}"
fi

# ---------------------------------------------------------------- 2. p99 at half the max rate
max_qps() { # server -> mean max qps of geo-varied-ecs in this RESULTS
  $PY - "$RESULTS/dns.jsonl" "$1" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
q = [r["qps"] for r in rows if r.get("server") == sys.argv[2] and r.get("set") == "geo-varied-ecs" and r.get("mode") == "max"]
print(int(sum(q) / len(q)) if q else 0)
EOF
}
if [[ " $PARTS " == *" p99 "* ]] && [ -s "$RESULTS/dns.jsonl" ]; then
  $PY "$BENCH/dns/gen_queries.py" "$RUN/dnsq" 20000 >/dev/null
  mkdir -p "$RESULTS/raw/p99"
  for s in custom deno-listen-raw gdnsd; do
    q=$(max_qps "$s"); [ "$q" -gt 0 ] || continue
    half=$((q / 2))
    case $s in
      custom) p=5399; start_bg custom taskset -c "$SERVER_CPU" bash -c "exec $(meridian_cmd 1)" ;;
      deno-listen-raw) p=5314; (cd "$BENCH" && DENO_DIR=$DEPS/deno_dir start_bg deno-listen-raw taskset -c "$SERVER_CPU" "$DENO" run -A --no-lock --unstable-net deno/dns_listen.ts 5314 raw) ;;
      gdnsd)
        p=5301
        mkdir -p "$RUN/gdnsd/zones" "$RUN/gdnsd/run" "$RUN/gdnsd/state"
        (cd "$BENCH" && render dns/gdnsd/config.tmpl "$RUN/gdnsd/config" && cp dns/gdnsd/cdn.example.test "$RUN/gdnsd/zones/")
        start_bg gdnsd taskset -c "$SERVER_CPU" gdnsd -c "$RUN/gdnsd" start ;;
    esac
    wait_port udp "$p" 300; sleep 2
    # Two passes over the same 20,000 subnets: "start" begins 2 s after the port opens (every
    # subnet is new for its first 0.9 s), "warm" follows at once (the hot-prefix steady state).
    for pass in start warm; do
      raw="$RESULTS/raw/p99/$s-$pass.txt"
      taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$p" -B -d "$RUN/dnsq/geo-ecs.bin" -l "${P99_SECONDS:-10}" \
        -c 1 -T 1 -q 100 -Q "$half" -v >"$raw" 2>&1
      $PY "$ROOT/bench/_dnsperf_pct.py" "$raw" server="$s" pass="$pass" target_qps="$half" | tee -a "$RESULTS/dns-p99.jsonl"
    done
    stop_bg "$s"
  done
fi

# ---------------------------------------------------------------- 3. answers vs the peers'
if [[ " $PARTS " == *" agree "* ]]; then
  $PY "$BENCH/dns/gen_queries.py" "$RUN/dnsq" 20000 >/dev/null
  cat >"$SRC_DIR/_agree.ts" <<EOF
import { loadConfig } from "./config/mod.ts";
import { openGeoDatabase } from "./geo/mod.ts";
import { Authority, ConfigEdgeSource, DnsHandler } from "./scheduler/mod.ts";
const { config } = await loadConfig("bench/dns_bench.yaml");
const sc = config.scheduler;
const geo = await openGeoDatabase({ ipv4Path: sc.geo.ipv4Path, reloadCheckMs: 0 });
const peer = await openGeoDatabase({ ipv4Path: "$GEO/geo-country.mmdb", reloadCheckMs: 0 });
const health = { version: 1, isUp: () => true, state: () => undefined };
const h = new DnsHandler({ authority: Authority.fromConfig(sc), geo, edges: new ConfigEdgeSource(sc), health, config: sc });
const want: Record<string, string> = { NA: "203.0.113.10", SA: "203.0.113.20", EU: "203.0.113.30", AF: "203.0.113.40", AS: "203.0.113.50", OC: "203.0.113.60", AN: "203.0.113.60" };
const bin = await Deno.readFile("$RUN/dnsq/geo-ecs.bin");
let off = 0, n = 0, same = 0;
const miss = new Map<string, number>();
while (off < bin.length) {
  const len = (bin[off]! << 8) | bin[off + 1]!;
  const m = bin.subarray(off + 2, off + 2 + len);
  off += 2 + len;
  const b = [m[len - 3]!, m[len - 2]!, m[len - 1]!, 0];
  const e = h.explain("edge.cdn.example.test", b.join(".") + "/24");
  if (typeof e === "string") throw new Error(e);
  const c = peer.lookup(new Uint8Array(b)).record?.continent;
  const exp = want[c ?? "EU"] ?? want.EU;
  n++;
  if (e.answer?.addresses[0] === exp) same++;
  else {
    const k = (c ?? "?") + "/" + (e.geo.record?.country ?? "?") + " -> " + e.answer?.addresses[0];
    miss.set(k, (miss.get(k) ?? 0) + 1);
  }
}
console.log(JSON.stringify({ subnets: n, sameAnswerAsPeers: same, share: +(same / n).toFixed(4), differing: Object.fromEntries([...miss].sort((a, b) => b[1] - a[1])) }));
Deno.exit(0);
EOF
  (cd "$SRC_DIR" && deno run -A _agree.ts) | tee "$RESULTS/dns-agreement.json"
fi

# ---------------------------------------------------------------- 4. extra: two cores, workers 1 vs 2
if [[ " $PARTS " == *" 2core "* ]]; then
  for w in 1 2; do
    RESULTS=$RESULTS/2core-w$w SERVER_CPU=0,1 CUSTOM_CMD=$(meridian_cmd "$w") \
      CUSTOM_VERSION="meridian $GIT_REV (+$DIRTY), dns.workers $w, udpSocket $UDP_SOCKET, unpinned" \
      "$BENCH/dns/run_dns.sh" "$DUR" 1 "custom"
  done
  RESULTS=$RESULTS/2core-raw SERVER_CPU=0,1 "$BENCH/dns/run_dns.sh" "$DUR" 1 "deno-listen-raw"
fi

for d in "$RESULTS" "$RESULTS"/2core-*; do
  [ -s "$d/dns.jsonl" ] && RESULTS=$d $PY "$BENCH/tools/report.py" >"$d/RESULTS.md" 2>/dev/null
done
log "results: $RESULTS (RESULTS.md, dns.jsonl, dns-p99.jsonl, dns-verify.txt, raw/)"
