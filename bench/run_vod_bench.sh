#!/usr/bin/env bash
# VOD beside nginx in one run (issue 13's benchmarks): (1) 1 MiB random byte ranges of a large
# MP4 by 200 connections, throughput per core of CPU; (2) time to first byte of `.mp4?start=`
# in the middle of a 1-hour file, beside nginx's mp4 module (`mp4;` location); (3) HLS VOD
# segment requests per second, cold (every segment once) and warm (one segment); (4) memory per
# slow progressive viewer (RSS with N viewers minus idle, over N).
#
# usage (from the project root): bench/run_vod_bench.sh [DURATION=15]
# env: RUN (/tmp/bench-run), MEDIA (/tmp/meridian-vod-media: fixtures made once and kept),
#      VIEWERS (200). Servers pinned to core 1, load to core 0; loopback only; bounded in time;
#      nothing killed by name (PIDs recorded by the harness's start_bg/stop_bg).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$(cd "$ROOT/../shared/bench" && pwd)}
export RUN=${RUN:-/tmp/bench-run}
DUR=${1:-15}
VIEWERS=${VIEWERS:-200}
MEDIA=${MEDIA:-/tmp/meridian-vod-media}
OUT=${OUT:-$RUN/results/meridian-vod-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$RUN" "$OUT" "$MEDIA"
# shellcheck source=/dev/null
. "$BENCH/lib.sh"
PY=${PY:-python3}

# Fixtures: a 1-hour 1 Mbit/s film (looped from one minute, -c copy) and a 10-minute 4 Mbit/s
# film with 2 s GOPs for the HLS target (a 2 s segment of a 4 Mbit/s file).
if [ ! -f "$MEDIA/hour.mp4" ]; then
  log "making fixtures in $MEDIA (once)"
  ffmpeg -v error -y -f lavfi -i testsrc2=size=854x480:rate=25 -f lavfi -i sine=sample_rate=44100 -t 60 \
    -c:v libx264 -preset ultrafast -b:v 900k -maxrate 1M -bufsize 2M -g 50 -c:a aac -b:a 96k "$MEDIA/minute.mp4"
  ffmpeg -v error -y -stream_loop 59 -i "$MEDIA/minute.mp4" -c copy -movflags +faststart "$MEDIA/hour.mp4"
  ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine=sample_rate=44100 -t 60 \
    -c:v libx264 -preset ultrafast -b:v 3800k -maxrate 4M -bufsize 8M -g 50 -c:a aac -b:a 128k "$MEDIA/m4.mp4"
  ffmpeg -v error -y -stream_loop 9 -i "$MEDIA/m4.mp4" -c copy "$MEDIA/ten.mp4"
fi
SIZE=$(stat -c %s "$MEDIA/hour.mp4")

# Meridian (origin only, from a copy of the tree) and nginx with the mp4 module on the same folder.
SRC=$RUN/meridian-src-vod
rm -rf "$SRC" && mkdir -p "$SRC"
(cd "$ROOT" && tar --exclude=./.git --exclude=./data --exclude=./tests -cf - .) | tar -xf - -C "$SRC"
cat >"$RUN/vod_bench.yaml" <<YAML
dataDir: $RUN/vod-data
log: { level: warn }
limits: { trustedNetworks: ["127.0.0.0/8"] }
origin:
  rtmpPort: 19436
  httpPort: 18096
  virtualLive: []
  vod:
    libraries: [{ path: "$MEDIA", prefix: /vod/ }]
    hlsSegmentSeconds: 2
YAML
cat >"$RUN/nginx-vod.conf" <<NGINX
worker_processes 1;
pid $RUN/nginx-vod.pid;
error_log $RUN/logs/nginx-vod-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:18097;
    location /vod/ { alias $MEDIA/; mp4; mp4_buffer_size 1m; mp4_max_buffer_size 64m; }
  }
}
NGINX
start_bg vod-meridian taskset -c 1 env -C "$SRC" deno run -A main.ts --roles origin --config "$RUN/vod_bench.yaml"
start_bg vod-nginx taskset -c 1 nginx -c "$RUN/nginx-vod.conf" -g "daemon off;"
wait_port tcp 18096 300 && wait_port tcp 18097 100 || { stop_bg vod-meridian; stop_bg vod-nginx; exit 1; }
M=http://127.0.0.1:18096
N=http://127.0.0.1:18097
curl -s -o /dev/null "$M/vod/hour.mp4?start=1" # index once (the index is kept; nginx parses per request)
curl -s -o /dev/null "$M/vod/ten.mp4.m3u8"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  rev: $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*\///')  deno: $(deno --version | head -1)  wrk: $(dpkg-query -W -f='${Version}' wrk)"
  echo "files: hour.mp4 $(stat -c %s "$MEDIA/hour.mp4") B (1 h, ~1 Mbit/s), ten.mp4 $(stat -c %s "$MEDIA/ten.mp4") B (10 min, ~4 Mbit/s, 2 s GOP)"
} | tee "$OUT/env.txt"

# (1) byte ranges
for srv in nginx meridian; do
  base=$M; [ $srv = nginx ] && base=$N
  pid=$(pid_of vod-$srv)
  (taskset -c 0 env SIZE="$SIZE" URLPATH=/vod/hour.mp4 wrk -t1 -c200 -d"${DUR}s" -s "$ROOT/bench/vod/range.lua" "$base" >"$OUT/range-$srv.wrk" 2>&1) &
  w=$!
  sleep 1
  $PY "$BENCH/tools/procstat.py" "$pid" $((DUR - 2)) >"$OUT/range-$srv.proc"
  wait $w
  rps=$(awk '/Requests\/sec/{print $2}' "$OUT/range-$srv.wrk")
  cpu=$($PY -c "import json;print(json.load(open('$OUT/range-$srv.proc'))['cpu_pct'])")
  echo "range 1MiB $srv: ${rps} req/s  cpu ${cpu}%  -> $(echo "$rps $cpu" | awk '{printf "%.0f", $1/($2/100)}') MiB/s per core" | tee -a "$OUT/summary.txt"
done

# (2) seek TTFB in the middle of the hour (30:00), 20 each after one warm-up
for srv in nginx meridian; do
  base=$M; [ $srv = nginx ] && base=$N
  curl -s -o /dev/null "$base/vod/hour.mp4?start=1800"
  ts=$(for i in $(seq 1 20); do taskset -c 0 curl -s -o /dev/null -r 0-0 -w '%{time_starttransfer}\n' "$base/vod/hour.mp4?start=$((1800 + i))"; done | sort -n)
  echo "seek ttfb $srv: median $(echo "$ts" | sed -n 10p) s  min $(echo "$ts" | head -1)  max $(echo "$ts" | tail -1)" | tee -a "$OUT/summary.txt"
  taskset -c 0 curl -s -o "$OUT/seek-$srv.mp4" -r 0-4000000 "$base/vod/hour.mp4?start=1800"
done

# (3) HLS VOD segments: warm (one segment) and cold (each of 300 segments once, then again)
SEGS=$(curl -s "$M/vod/ten.mp4.m3u8" | grep -c '\.ts')
for kind in warm cold; do
  if [ $kind = warm ]; then
    taskset -c 0 wrk -t1 -c16 -d"${DUR}s" "$M/vod/ten.mp4/150.ts" >"$OUT/hls-$kind.wrk" 2>&1
  else
    taskset -c 0 env SEGMENTS="$SEGS" BASE=/vod/ten.mp4 wrk -t1 -c1 -d"${DUR}s" --latency -s "$ROOT/bench/vod/segments.lua" "$M" >"$OUT/hls-$kind.wrk" 2>&1
  fi
  echo "hls segment $kind: $(awk '/Requests\/sec/{print $2}' "$OUT/hls-$kind.wrk") req/s  latency p50 $(awk '/ 50%/{print $2}' "$OUT/hls-$kind.wrk") avg $(awk '/Latency/{print $2; exit}' "$OUT/hls-$kind.wrk")" | tee -a "$OUT/summary.txt"
done
first=$(curl -s -o /dev/null -w '%{time_total}' "$M/vod/ten.mp4/7.ts")
echo "hls one 2 s segment of 4 Mbit/s, first request: ${first} s" | tee -a "$OUT/summary.txt"

# (4) memory per slow progressive viewer: plain byte ranges of the file (each viewer its own
# offset), then seek viewers (`?start=`: each holds its range's moov, ~1 MB for an hour, as
# nginx's mp4 module does)
for kind in plain seek; do
  for srv in meridian nginx; do
    base=$M; [ $srv = nginx ] && base=$N
    pid=$(pid_of vod-$srv)
    idle=$($PY "$BENCH/tools/procstat.py" "$pid" 2 | $PY -c "import json,sys;print(json.load(sys.stdin)['rss_kb_end'])")
    pids=()
    for i in $(seq 1 "$VIEWERS"); do
      if [ $kind = plain ]; then
        taskset -c 0 curl -s -o /dev/null --limit-rate 100k --max-time $((DUR + 10)) -r "$((i * 1000000))-" "$base/vod/hour.mp4" &
      else
        taskset -c 0 curl -s -o /dev/null --limit-rate 100k --max-time $((DUR + 10)) "$base/vod/hour.mp4?start=$((i * 10))" &
      fi
      pids+=($!)
    done
    sleep "$DUR"
    busy=$($PY "$BENCH/tools/procstat.py" "$pid" 3 | $PY -c "import json,sys;print(json.load(sys.stdin)['rss_kb_end'])")
    kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
    echo "memory $kind $srv: idle ${idle} KiB, ${VIEWERS} viewers ${busy} KiB -> $(( (busy - idle) / VIEWERS )) KiB per viewer" | tee -a "$OUT/summary.txt"
  done
done

stop_bg vod-meridian
stop_bg vod-nginx
log "results: $OUT/summary.txt"
