#!/usr/bin/env bash
# Edge HTTP-FLV fan-out and origin write coalescing (33 vs 50 ms), beside nginx-rtmp, in ONE run.
# Uses the shared harness's tools read-only (../shared/bench: lib.sh, live/viewers.js, tools/procstat.py,
# live/nginx-rtmp.conf.tmpl) and the latency client embedded in bench/run_live_fanout.sh.
#
# usage (from the project root):
#   bench/run_edge_fanout.sh [CAP_DUR=30] [CAP_WARM=12] [NS="2000 4000"] [PARTS="nginx edge origin latency"]
# parts (in this order, one run):
#   nginx    nginx-rtmp RTMP play, N in NS                                        (reference)
#   edge     Meridian origin (core 0, beside publisher + client) <- ffmpeg publish; Meridian edge
#            (--roles edge, bench/edge_fanout.yaml, core 1) serves N HTTP-FLV viewers, N in NS
#   origin   Meridian origin alone (core 1), flushIntervalMs 33 then 50 (bench/origin_fanout_{33,50}ms.yaml),
#            RTMP and HTTP-FLV play, N = ORIGIN_N (default: the largest of NS)
#   latency  publisher -> viewer latency of single tags (lat.js from run_live_fanout.sh), idle: origin 33 and
#            50 ms (HTTP-FLV + RTMP play), and through the edge (origin 33 or 50 -> edge 33, HTTP-FLV;
#            LAT_EDGE_ORIGINS, default "33 50")
# Stream: the 600 kbps stream of run_live_fanout.sh's capacity part (made here if missing).
# env: BENCH (../shared/bench), RUN (/tmp/bench-edge; kept apart from /tmp/bench-run, which other benchmarks
#      use), RESULTS ($RUN/results). The servers run from a copy of the last commit (git archive HEAD) plus
#      these bench configs, so edits made meanwhile do not change the code under test.
# Everything on 127.0.0.1, every load bounded in time; processes are stopped by recorded PID only.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$(cd "$ROOT/../shared/bench" && pwd)}
export RUN=${RUN:-/tmp/bench-edge}
export RESULTS=${RESULTS:-$RUN/results}
CAP_DUR=${1:-30}
CAP_WARM=${2:-12}   # 4000 viewers x 2 ms stagger = 8 s of connecting before the window opens
NS=${3:-"2000 4000"}
PARTS=${4:-"nginx edge origin latency"}
ORIGIN_N=${ORIGIN_N:-$(echo "$NS" | tr ' ' '\n' | sort -n | tail -1)}
mkdir -p "$RUN" "$RESULTS/raw"
# shellcheck source=/dev/null
. "$BENCH/lib.sh"

# ---------------------------------------------------------------- code under test: HEAD + bench configs
SRC_DIR=$RUN/meridian-src
rm -rf "$SRC_DIR" && mkdir -p "$SRC_DIR"
git -C "$ROOT" archive HEAD | tar -xf - -C "$SRC_DIR"
ln -s "$ROOT/node_modules" "$SRC_DIR/node_modules"
cp "$ROOT"/bench/{edge_fanout,origin_fanout_33ms,origin_fanout_50ms}.yaml "$SRC_DIR/bench/"
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD)
VER="meridian $GIT_REV (git archive HEAD), $(deno --version | head -1)"
origin_cmd() { echo "env -C $SRC_DIR deno run -A main.ts --roles origin --config bench/origin_fanout_$1ms.yaml >>$RESULTS/meridian-origin.log 2>&1"; }
EDGE_CMD="env -C $SRC_DIR deno run -A main.ts --roles edge --config bench/edge_fanout.yaml >>$RESULTS/meridian-edge.log 2>&1"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "node: $(node --version)  ffmpeg: $(ffmpeg -version | head -1 | cut -d' ' -f3)  nginx: $(nginx -v 2>&1 | sed 's/.*nginx\///')"
  echo "meridian: $VER"
} >>"$RESULTS/env.txt"

SRC600=$RUN/media/src600.flv
mkdir -p "$RUN/media"
if [ ! -s "$SRC600" ]; then
  if [ -s /tmp/bench-run/media/src600.flv ]; then cp /tmp/bench-run/media/src600.flv "$SRC600"; else
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 \
      -f lavfi -i sine=frequency=1000:sample_rate=44100 -t 60 \
      -c:v libx264 -preset veryfast -b:v 520k -maxrate 520k -bufsize 1040k -g 50 -keyint_min 50 -sc_threshold 0 \
      -pix_fmt yuv420p -c:a aac -b:a 64k -ar 44100 -f flv "$SRC600"
  fi
fi
BPS600=$(ffprobe -v error -show_entries format=bit_rate -of default=nw=1:nk=1 "$SRC600")
log "600 kbps stream: $SRC600, container average $BPS600 bit/s; code: $VER; results -> $RESULTS"

start_nginx() {
  rm -rf "$RUN/nginx-rtmp" "$RUN/hls"; mkdir -p "$RUN/nginx-rtmp" "$RUN/hls"
  render "$BENCH/live/nginx-rtmp.conf.tmpl" "$RUN/nginx-rtmp/nginx.conf"
  # 4000 viewers + publisher need more than the template's 4096 worker connections
  sed -i 's/worker_connections 4096;/worker_connections 10000;/' "$RUN/nginx-rtmp/nginx.conf"
  start_bg nginx-rtmp taskset -c "$SERVER_CPU" nginx -c "$RUN/nginx-rtmp/nginx.conf" -p "$RUN/nginx-rtmp" \
    -e "$RUN/logs/nginx-rtmp-error.log" -g 'daemon off;'
  wait_port tcp 1935
}

# Another engineer's DNS/HTTP/live benchmarks may run on this machine: wait (poll every 20 s) until none is
# running before each measurement; give up on the measurement after WAIT_MAX s (default 300).
OTHERS='run_dns|run_http|dnsperf|wrk |run_live|viewers.js'
wait_quiet() {
  local waited=0
  while pgrep -f "$OTHERS" >/dev/null; do
    [ "$waited" -ge "${WAIT_MAX:-300}" ] && { log "other benchmarks still running after ${waited}s: skipping $1"; return 1; }
    log "other benchmarks running ($(pgrep -af "$OTHERS" | head -3 | tr '\n' ';')), waiting 20 s before $1"
    sleep 20; waited=$((waited + 20))
  done
}

# measure LABEL SERVER_PID MODE URL PUB_URL N [ORIGIN_PID ORIGIN_HTTP]
#   one capacity run: publisher, idle sample, viewers.js, server (+ origin) and client CPU over [warm, dur]
measure() {
  local label=$1 spid=$2 mode=$3 url=$4 pub=$5 n=$6 opid=${7:-} ohttp=${8:-}
  wait_quiet "$label N=$n" || return 0
  start_bg publisher taskset -c "$CLIENT_CPU" ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$SRC600" \
    -c copy -t $((CAP_DUR + 15)) -f flv "$pub"
  sleep 3
  local idle raw cpid p1 p2 p3=
  idle=$($PY "$BENCH/tools/procstat.py" "$spid" 0.5)
  raw=$RESULTS/raw/$label-$n
  local cmd=(taskset -c "$CLIENT_CPU" node "$BENCH/live/viewers.js" --mode "$mode" --url "$url" --n "$n"
             --duration "$CAP_DUR" --warmup "$CAP_WARM" --expect-bps "$BPS600")
  "${cmd[@]}" >"$raw.json" 2>"$raw.err" &
  cpid=$!
  ( sleep "$CAP_WARM"; $PY "$BENCH/tools/procstat.py" "$spid" $((CAP_DUR - CAP_WARM)) >"$RUN/m-server.json" ) & p1=$!
  ( sleep "$CAP_WARM"; $PY "$BENCH/tools/procstat.py" "$cpid" $((CAP_DUR - CAP_WARM - 1)) >"$RUN/m-client.json" ) & p2=$!
  echo '{}' >"$RUN/m-origin.json"; echo '{}' >"$RUN/m-ohealth.json"; echo '{}' >"$RUN/m-ehealth.json"; : >"$RUN/m-ometrics.txt"
  if [ -n "$opid" ]; then
    ( sleep "$CAP_WARM"; $PY "$BENCH/tools/procstat.py" "$opid" $((CAP_DUR - CAP_WARM)) >"$RUN/m-origin.json" ) & p3=$!
    ( sleep $((CAP_WARM + 2)); curl -s -m 3 "$ohttp/healthz" >"$RUN/m-ohealth.json"
      curl -s -m 3 "$ohttp/metrics" | grep -E '^meridian_origin_viewers' >"$RUN/m-ometrics.txt"
      curl -s -m 3 "${url%/live/*}/healthz" >"$RUN/m-ehealth.json" ) &
  fi
  wait "$cpid"; wait "$p1"; wait "$p2"; [ -n "$p3" ] && wait "$p3"
  pgrep -af "$OTHERS" | grep -v "$BENCH/live/viewers.js --mode $mode --url $url" >"$RUN/m-others.txt"
  sleep 1
  stop_bg publisher
  $PY - "$raw.json" "$RUN/m-server.json" "$RUN/m-client.json" "$idle" "$label" "$n" "$BPS600" "${cmd[*]}" \
    "$RUN/m-origin.json" "$RUN/m-ohealth.json" "$RUN/m-ometrics.txt" "$VER" "$RUN/m-ehealth.json" "$RUN/m-others.txt" <<'PYEOF' | tee -a "$RESULTS/edge_fanout.jsonl"
import json, sys
raw, sf, cf, idle, label, n, bps, cmd, of, ohf, omf, ver, ehf, othf = sys.argv[1:]
try:
    r = json.load(open(raw))
except Exception as e:
    r = {"error": "client produced no result: %s" % e}
s = json.load(open(sf)); c = json.load(open(cf)); i = json.loads(idle)
r.update({"test": "edge_fanout600", "label": label, "version": ver if "meridian" in label else label,
          "stream_bitrate_bps": int(bps), "server_cpu_pct": s["cpu_pct"], "server_cpu_peak_pct": s["cpu_pct_peak"],
          "server_rss_kb_max": s["rss_kb_max"], "server_rss_kb_idle_publishing": i["rss_kb_max"],
          "client_cpu_pct": c["cpu_pct"], "cmd": cmd})
o = json.load(open(of))
if o:
    r["origin_cpu_pct"] = o["cpu_pct"]; r["origin_rss_kb_max"] = o["rss_kb_max"]
    try: r["origin_healthz"] = json.load(open(ohf))
    except Exception as e: r["origin_healthz"] = "unreadable: %s" % e
    r["origin_metrics_viewers"] = open(omf).read().strip()
    try: r["server_healthz"] = json.load(open(ehf))
    except Exception as e: r["server_healthz"] = "unreadable: %s" % e
r["other_benchmarks_at_end"] = open(othf).read().strip()
print(json.dumps(r))
PYEOF
  sleep 3
}

# ---------------------------------------------------------------- 1. nginx-rtmp reference
if [[ " $PARTS " == *" nginx "* ]]; then
  start_nginx; sleep 1
  for n in $NS; do
    measure nginx-rtmp-rtmp "$(pid_of nginx-rtmp)" rtmp rtmp://127.0.0.1:1935/live/stream rtmp://127.0.0.1:1935/live/stream "$n"
  done
  stop_bg nginx-rtmp
fi

# ---------------------------------------------------------------- 2. edge HTTP-FLV fan-out
if [[ " $PARTS " == *" edge "* ]]; then
  # the origin shares core 0 with the publisher and the load client: it serves one upstream viewer (the edge)
  start_bg origin taskset -c "$CLIENT_CPU" bash -c "exec $(origin_cmd 33)"
  wait_port tcp 19351 200
  start_bg edge taskset -c "$SERVER_CPU" bash -c "exec $EDGE_CMD"
  wait_port tcp 18081 200
  sleep 1
  for n in $NS; do
    measure meridian-edge-flv "$(pid_of edge)" flv http://127.0.0.1:18081/live/stream.flv \
      rtmp://127.0.0.1:19351/live/stream "$n" "$(pid_of origin)" http://127.0.0.1:18001
    sleep 3   # > 0 s; the edge keeps its upstream edge.live.idleCloseMs (5 s) after the last viewer
  done
  stop_bg edge; stop_bg origin
fi

# ---------------------------------------------------------------- 3. origin write coalescing 33 vs 50 ms
if [[ " $PARTS " == *" origin "* ]]; then
  for fi_ms in 33 50; do
    start_bg origin taskset -c "$SERVER_CPU" bash -c "exec $(origin_cmd "$fi_ms")"
    wait_port tcp 19351 200; sleep 1
    measure "meridian-origin${fi_ms}-rtmp" "$(pid_of origin)" rtmp rtmp://127.0.0.1:19351/live/stream \
      rtmp://127.0.0.1:19351/live/stream "$ORIGIN_N"
    measure "meridian-origin${fi_ms}-flv" "$(pid_of origin)" flv http://127.0.0.1:18001/live/stream.flv \
      rtmp://127.0.0.1:19351/live/stream "$ORIGIN_N"
    stop_bg origin
  done
fi

# ---------------------------------------------------------------- 4. latency (idle), 33 vs 50 ms, and through the edge
if [[ " $PARTS " == *" latency "* ]]; then
  # the latency client embedded in run_live_fanout.sh, extracted verbatim
  sed -n "/^  cat >\"\$RUN\/lat.js\" <<'JSEOF'$/,/^JSEOF$/p" "$ROOT/bench/run_live_fanout.sh" | sed '1d;$d' >"$RUN/lat.js"
  SRC=$SRC600
  LAT_DUR=${LAT_DUR:-20}
  lat() {  # lat LABEL PUB PLAY
    taskset -c "$CLIENT_CPU" node "$RUN/lat.js" --pub "$2" --play "$3" --file "$SRC" --duration "$LAT_DUR" \
      | $PY -c "import json,sys; r=json.load(sys.stdin); r.update(label='$1', stream_file='$SRC'); print(json.dumps(r))" \
      | tee -a "$RESULTS/latency.jsonl"
  }
  for fi_ms in 33 50; do
    start_bg origin taskset -c "$SERVER_CPU" bash -c "exec $(origin_cmd "$fi_ms")"
    wait_port tcp 19351 200; sleep 1
    wait_quiet "latency origin $fi_ms ms" || { stop_bg origin; continue; }
    lat "origin$fi_ms-flv" rtmp://127.0.0.1:19351/live/lat1 http://127.0.0.1:18001/live/lat1.flv & l1=$!
    lat "origin$fi_ms-rtmp" rtmp://127.0.0.1:19351/live/lat2 rtmp://127.0.0.1:19351/live/lat2 & l2=$!
    wait "$l1" "$l2"   # only these two: a bare `wait` would also wait for the server started by start_bg
    if [[ " ${LAT_EDGE_ORIGINS:-33 50} " == *" $fi_ms "* ]]; then   # origin (this interval) -> edge (33 ms) -> viewer
      start_bg edge taskset -c "$SERVER_CPU" bash -c "exec $EDGE_CMD"; wait_port tcp 18081 200; sleep 1
      lat "origin$fi_ms-edge33-flv" rtmp://127.0.0.1:19351/live/lat3 http://127.0.0.1:18081/live/lat3.flv
      stop_bg edge
    fi
    stop_bg origin
  done
fi
log "done; results in $RESULTS (edge_fanout.jsonl, latency.jsonl, raw/, meridian-*.log, env.txt)"
