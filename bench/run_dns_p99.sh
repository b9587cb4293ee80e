#!/usr/bin/env bash
# DNS latency at a fixed rate, in two passes: "start" (10 s beginning 2 s after the DNS port
# opens, so the 20,000 subnets of the harness's query file are all new at first) and "warm"
# (10 s right after). Meridian's scheduler alone (bench/dns_bench.yaml) pinned to core 1,
# dnsperf pinned to core 0; percentiles from dnsperf -v per-query latencies.
#
# usage (from the project root): [CONFIG=file.yaml] bench/run_dns_p99.sh RATE [SECONDS=10]
# (CONFIG: another scheduler config on port 5399, e.g. from bench/dns_bench_variant.ts)
# needs: dnsperf, dig, the harness's query file ($RUN/dnsq/geo-ecs.bin, made by
# bench/run_dns_bench.sh or ../shared/bench/dns/gen_queries.py). 127.0.0.1 only; bounded in time.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATE=${1:?rate (queries per second)}
SECS=${2:-10}
CONFIG=${CONFIG:-bench/dns_bench.yaml}
RUN=${RUN:-/tmp/bench-run}
Q=$RUN/dnsq/geo-ecs.bin
[ -s "$Q" ] || python3 "$ROOT/../shared/bench/dns/gen_queries.py" "$RUN/dnsq" 20000 >/dev/null
OUT=$(mktemp -d /tmp/meridian-dns-p99.XXXXXX)
cd "$ROOT" || exit 1
taskset -c 1 deno run -A main.ts --roles scheduler --config "$CONFIG" >"$OUT/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 1 100); do
  dig +short +time=1 +tries=1 @127.0.0.1 -p 5399 static.cdn.example.test A >/dev/null 2>&1 && break
  sleep 0.3
done
sleep 2
for pass in start warm; do
  taskset -c 0 dnsperf -s 127.0.0.1 -p 5399 -B -d "$Q" -l "$SECS" -c 1 -T 1 -q 100 -Q "$RATE" -v >"$OUT/$pass.txt" 2>&1
  python3 "$ROOT/bench/_dnsperf_pct.py" "$OUT/$pass.txt" pass="$pass" rate="$RATE"
done
echo "raw output: $OUT"
