#!/usr/bin/env bash
# HTTP edge-cache benchmark of Meridian's edge beside nginx proxy_cache, Varnish and a bare
# Deno.serve in-memory cache, using the shared harness (../shared/bench, read-only) with Meridian
# as its `custom` target, in the same run: cached playlist and 2 MiB segment hits (wrk -t1 -c64),
# and a cold herd of 200 concurrent requests for a new 2 MiB object (origin fetches counted).
#
# usage (from the project root):
#   bench/run_http_bench.sh [DURATION=15] [REPEATS=2] [EDGES="nginx varnish deno-plain custom"]
# env: BENCH (default ../shared/bench), RUN (/tmp/bench-run), RESULTS (default
#      $RUN/results/meridian-http-<UTC time>; never beside the shared harness),
#      PROFILE=1: Meridian runs with --cpu-prof (profiles in $RESULTS/cpuprof, written at exit)
# Edges pinned to core 1; wrk, the herd client and the origin nginx to core 0 (harness defaults).
# Meridian runs from a copy of the working tree taken at start ($RUN/meridian-src-http), so edits
# made by others during the run do not change the server under test. Everything is bounded in
# time and goes to 127.0.0.1 only. Nothing is killed by name.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$(cd "$ROOT/../shared/bench" && pwd)}
export RUN=${RUN:-/tmp/bench-run}
export RESULTS=${RESULTS:-$RUN/results/meridian-http-$(date -u +%Y%m%dT%H%M%SZ)}
DUR=${1:-15}
REP=${2:-2}
EDGES=${3:-"nginx varnish deno-plain custom"}
mkdir -p "$RUN" "$RESULTS"
# shellcheck source=/dev/null
. "$BENCH/lib.sh"

SRC_DIR=$RUN/meridian-src-http
rm -rf "$SRC_DIR" && mkdir -p "$SRC_DIR"
(cd "$ROOT" && tar --exclude=./.git --exclude=./data --exclude=./tests -cf - .) | tar -xf - -C "$SRC_DIR"
rm -rf /tmp/meridian-bench-edge
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l)
PROF=""
if [ "${PROFILE:-0}" = 1 ]; then mkdir -p "$RESULTS/cpuprof"; PROF="--cpu-prof --cpu-prof-dir=$RESULTS/cpuprof"; fi
export CUSTOM_CMD="env -C $SRC_DIR deno run -A $PROF main.ts --roles edge --config bench/edge_bench.yaml >>$RESULTS/meridian.log 2>&1"
export CUSTOM_PORT=8099
export CUSTOM_VERSION="meridian $GIT_REV (+$DIRTY uncommitted paths), $(deno --version | head -1)"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "cpu:  $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), mem $(free -g | awk '/Mem/{print $2}') GiB"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "deno: $(deno --version | head -1)  nginx: $(nginx -v 2>&1 | sed 's/.*\///')  varnish: $(dpkg-query -W -f='${Version}' varnish)  wrk: $(dpkg-query -W -f='${Version}' wrk)"
  echo "meridian: $CUSTOM_VERSION, config bench/edge_bench.yaml"
} >>"$RESULTS/env.txt"
log "server under test: $CUSTOM_CMD  results -> $RESULTS"

"$BENCH/http/run_http.sh" "$DUR" "$REP" "$EDGES"

RESULTS=$RESULTS $PY "$BENCH/tools/report.py" >"$RESULTS/RESULTS.md" 2>/dev/null
log "results: $RESULTS (RESULTS.md, http.jsonl, raw/http/)"
