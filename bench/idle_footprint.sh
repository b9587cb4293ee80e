#!/usr/bin/env bash
# Idle footprint per role set (issue 20): start `main.ts --roles R` with the embedded defaults
# (the demo channel plays, the demo library is served), wait WARM seconds, then read RSS (and its
# anonymous and file-backed parts) from /proc and the CPU used over WINDOW seconds. One process
# at a time, pinned to core 1; nothing else is started; every process is stopped by its PID.
#
# usage (from the project root): bench/idle_footprint.sh [WARM=20] [WINDOW=30] [ROLE_SETS...]
# default role sets: "origin,edge,scheduler,control" origin edge scheduler control
# env: DENO_FLAGS (the V8 flags `deno task start` passes: --v8-flags=--max-semi-space-size=2)
# output: one table row per role set (markdown), and the raw /proc figures in $OUT
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WARM=${1:-20}
WINDOW=${2:-30}
shift 2 2>/dev/null || shift $#
SETS=("$@")
[ ${#SETS[@]} -eq 0 ] && SETS=("origin,edge,scheduler,control" origin edge scheduler control)
DENO=${DENO:-deno}
DENO_FLAGS=${DENO_FLAGS:---v8-flags=--max-semi-space-size=2}
OUT=${OUT:-/tmp/meridian-idle-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
TICKS=$(getconf CLK_TCK)

kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$2/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "| roles | RSS MiB | anon MiB | file MiB | CPU % of a core |"
echo "| ----- | ------- | -------- | -------- | --------------- |"
for set in "${SETS[@]}"; do
  data=$(mktemp -d /tmp/meridian-idle-data.XXXXXX)
  printf 'dataDir: %s\nlog: { level: warn }\n' "$data" >"$OUT/config.yaml"
  # shellcheck disable=SC2086
  (cd "$ROOT" && exec taskset -c 1 "$DENO" run -A $DENO_FLAGS main.ts \
    --config "$OUT/config.yaml" --roles "$set") >"$OUT/${set//,/_}.log" 2>&1 &
  pid=$!
  sleep "$WARM"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "| $set | exited (see $OUT/${set//,/_}.log) | | | |"
    rm -rf "$data"
    continue
  fi
  # deno run is the process itself (exec), so its PID is the server's.
  t0=$(cpu_ticks "$pid")
  sleep "$WINDOW"
  t1=$(cpu_ticks "$pid")
  rss=$(kib VmRSS "$pid")
  anon=$(kib RssAnon "$pid")
  file=$(kib RssFile "$pid")
  cat "/proc/$pid/status" >"$OUT/${set//,/_}.status"
  kill -TERM "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$data"
  awk -v s="$set" -v r="$rss" -v a="$anon" -v f="$file" -v d=$((t1 - t0)) -v hz="$TICKS" -v w="$WINDOW" \
    'BEGIN { printf "| %s | %.0f | %.0f | %.0f | %.2f |\n", s, r/1024, a/1024, f/1024, 100*d/hz/w }'
done
echo "raw: $OUT" >&2
