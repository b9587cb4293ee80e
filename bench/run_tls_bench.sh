#!/usr/bin/env bash
# What TLS costs on the edge, beside nginx with TLS, in ONE run (the shared harness's tools,
# read-only: ../shared/bench lib.sh, http/nginx-origin.conf.tmpl, tools/procstat.py,
# tools/parse_wrk.py, live/viewers.js):
#
#   hits   cached hits through Meridian's edge and nginx proxy_cache, each over http and https on
#          the same process: playlist and 2 MiB segment with keep-alive (wrk -t1 -c64), and the
#          playlist with a new connection per request (`Connection: close`: a full TLS handshake
#          each, what a viewer's first request costs). Origin: the harness's static nginx (8081).
#   flv    HTTP-FLV fan-out of one 600 kbps live stream to N viewers through Meridian's edge over
#          http and over https (TLS in the edge), and over https through nginx terminating TLS in
#          front of the edge's http port (proxy_buffering off): the same viewers, TLS done by nginx.
#
# usage (from the project root):
#   bench/run_tls_bench.sh [DURATION=15] [REPEATS=2] [PARTS="hits flv"] [NS="500 1000"]
# env: BENCH (../shared/bench), RUN (/tmp/bench-tls, apart from the other benchmarks' folders),
#      RESULTS ($RUN/results), TARGETS (hits: default "nginx-http nginx-https meridian-http
#      meridian-https"), OBJECTS ("playlist segment close"), FLV_TARGETS ("meridian-http
#      meridian-https nginx-tls")
# Servers under test on core 1; wrk, viewers, the origins and the publisher on core 0. Meridian runs
# from `git archive HEAD`. Certificates: a throwaway CA and an EC P-256 leaf for 127.0.0.1 made
# here with openssl (both servers serve the same one; TLS 1.3 is what wrk and Node negotiate).
# Everything on 127.0.0.1, every load bounded in time; processes stopped by recorded PID only.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$ROOT/../shared/bench}
[ -f "$BENCH/lib.sh" ] || { echo "no benchmark harness at $BENCH (set BENCH=/path/to/shared/bench)" >&2; exit 2; }
export RUN=${RUN:-/tmp/bench-tls}
export RESULTS=${RESULTS:-$RUN/results}
DUR=${1:-15}
REP=${2:-2}
PARTS=${3:-"hits flv"}
NS=${4:-"500 1000"}
TARGETS=${TARGETS:-"nginx-http nginx-https meridian-http meridian-https"}
OBJECTS=${OBJECTS:-"playlist segment close"}
FLV_TARGETS=${FLV_TARGETS:-"meridian-http meridian-https nginx-tls"}
CONNS=${CONNS:-64}
mkdir -p "$RUN" "$RESULTS/raw"
# shellcheck source=/dev/null
. "$BENCH/lib.sh"

# ---------------------------------------------------------------- code under test, certificates
SRC_DIR=$RUN/meridian-src
rm -rf "$SRC_DIR" && mkdir -p "$SRC_DIR"
git -C "$ROOT" archive HEAD | tar -xf - -C "$SRC_DIR"
ln -s "$ROOT/node_modules" "$SRC_DIR/node_modules"
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD)
VER="meridian $GIT_REV (git archive HEAD), $(deno --version | head -1)"
TLS=$RUN/tls
if [ ! -s "$TLS/edge.crt" ]; then
  mkdir -p "$TLS"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TLS/ca.key" \
    -out "$TLS/ca.crt" -days 30 -subj "/CN=bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TLS/edge.key" \
    -out "$TLS/edge.csr" -subj "/CN=127.0.0.1" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$TLS/edge.ext"
  openssl x509 -req -in "$TLS/edge.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -set_serial 2 \
    -out "$TLS/edge.crt" -days 30 -extfile "$TLS/edge.ext" 2>/dev/null
fi
# Meridian's edge: its HTTPS port from the environment (the bench configs stay plain).
MTLS="MERIDIAN_EDGE_TLS_CERT_FILE=$TLS/edge.crt MERIDIAN_EDGE_TLS_KEY_FILE=$TLS/edge.key"
cipher_of() {  # cipher_of PORT: what a TLS 1.3 client gets
  openssl s_client -connect "127.0.0.1:$1" -CAfile "$TLS/ca.crt" </dev/null 2>/dev/null |
    grep -E '^New,|Cipher is' | head -1 | tr -s ' '
}
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*nginx\///') ($(nginx -V 2>&1 | grep -o 'OpenSSL [0-9.]*' | head -1))  wrk: $(dpkg-query -W -f='${Version}' wrk)  node: $(node --version)"
  echo "meridian: $VER; certificate: EC P-256, $TLS/edge.crt"
} >>"$RESULTS/env.txt"
log "code: $VER; results -> $RESULTS"

# ---------------------------------------------------------------- part 1: cached hits
if [[ " $PARTS " == *" hits "* ]]; then
  mkdir -p "$RUN/www/live"
  if [ ! -f "$RUN/www/live/seg00003.ts" ]; then
    {
      echo "#EXTM3U"; echo "#EXT-X-VERSION:3"; echo "#EXT-X-TARGETDURATION:4"; echo "#EXT-X-MEDIA-SEQUENCE:0"
      for i in $(seq 0 9); do
        f=$(printf 'seg%05d.ts' "$i")
        dd if=/dev/urandom of="$RUN/www/live/$f" bs=1M count=2 status=none
        echo "#EXTINF:4.000,"; echo "$f"
      done
      echo "#EXT-X-ENDLIST"
    } >"$RUN/www/live/stream.m3u8"
  fi
  rm -rf "$RUN/nginx-origin"; mkdir -p "$RUN/nginx-origin/tmp"
  render "$BENCH/http/nginx-origin.conf.tmpl" "$RUN/nginx-origin/nginx.conf"
  start_bg nginx-origin taskset -c "$CLIENT_CPU" nginx -c "$RUN/nginx-origin/nginx.conf" -p "$RUN/nginx-origin" \
    -e "$RUN/logs/nginx-origin-error.log" -g 'daemon off;'
  wait_port tcp 8081
  # nginx proxy_cache as in the harness's http/nginx-edge.conf.tmpl, plus an ssl listener.
  rm -rf "$RUN/nginx-edge"; mkdir -p "$RUN/nginx-edge/tmp"
  cat >"$RUN/nginx-edge/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $RUN/nginx-edge/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $RUN/nginx-edge/tmp/body;
  proxy_temp_path $RUN/nginx-edge/tmp/proxy;
  fastcgi_temp_path $RUN/nginx-edge/tmp/fastcgi;
  uwsgi_temp_path $RUN/nginx-edge/tmp/uwsgi;
  scgi_temp_path $RUN/nginx-edge/tmp/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  proxy_cache_path $RUN/nginx-edge/cache levels=1:2 keys_zone=edge:16m max_size=2g inactive=60m use_temp_path=off;
  upstream origin { server 127.0.0.1:8081; keepalive 32; }
  ssl_certificate $TLS/edge.crt;
  ssl_certificate_key $TLS/edge.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:8082;
    listen 127.0.0.1:8092 ssl;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache edge;
      proxy_cache_valid 200 10m;
      proxy_cache_lock on;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
EOF
  HIT_CMD="env -C $SRC_DIR $MTLS MERIDIAN_EDGE_TLS_PORT=8499 deno run -A main.ts --roles edge --config bench/edge_bench.yaml >>$RESULTS/meridian-hits.log 2>&1"
  url_of() { case $1 in nginx-http) echo http://127.0.0.1:8082;; nginx-https) echo https://127.0.0.1:8092;;
    meridian-http) echo http://127.0.0.1:8099;; meridian-https) echo https://127.0.0.1:8499;; esac; }
  for server in nginx meridian; do
    case $server in
      nginx) start_bg nginx-edge taskset -c "$SERVER_CPU" nginx -c "$RUN/nginx-edge/nginx.conf" -p "$RUN/nginx-edge" \
        -e "$RUN/logs/nginx-edge-error.log" -g 'daemon off;'; wait_port tcp 8092; spid=$(pid_of nginx-edge)
        echo "nginx https: $(cipher_of 8092)" >>"$RESULTS/env.txt" ;;
      meridian) start_bg meridian-edge taskset -c "$SERVER_CPU" bash -c "exec $HIT_CMD"; wait_port tcp 8499 300
        spid=$(pid_of meridian-edge); echo "meridian https: $(cipher_of 8499)" >>"$RESULTS/env.txt" ;;
    esac
    sleep 1
    for t in $TARGETS; do
      [[ $t == "$server"-* ]] || continue
      base=$(url_of "$t")
      for u in /live/stream.m3u8 /live/seg00003.ts; do  # warm: the second request must be a hit
        curl -sk -o /dev/null --max-time 10 "$base$u"
        echo "$t warm $u: $(curl -sk -o /dev/null --max-time 10 -D - "$base$u" | grep -iE '^(HTTP|x-cache|cache-status)' | tr -d '\r' | paste -sd' ' -)" | tee -a "$RESULTS/raw/warm.txt"
      done
      for rep in $(seq 1 "$REP"); do
        for obj in $OBJECTS; do
          case $obj in
            playlist) u=/live/stream.m3u8; hdr=() ;;
            segment) u=/live/seg00003.ts; hdr=() ;;
            close) u=/live/stream.m3u8; hdr=(-H "Connection: close") ;;
          esac
          cmd=(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "${hdr[@]}" "$base$u")
          raw=$RESULTS/raw/hits-$t-$obj-$rep.txt
          $PY "$BENCH/tools/procstat.py" "$spid" "$DUR" >"$RUN/procstat.json" & ps=$!
          "${cmd[@]}" >"$raw" 2>&1
          wait "$ps"
          read -r cpu rss < <($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["cpu_pct"], d["rss_kb_max"])' "$RUN/procstat.json")
          $PY "$BENCH/tools/parse_wrk.py" "test=\"tls_hit\"" "target=\"$t\"" "version=\"$([ "$server" = nginx ] && nginx -v 2>&1 | sed 's/.*: //' || echo "$VER")\"" \
            "object=\"$obj\"" "rep=$rep" "duration_s=$DUR" "server_cpu_pct=$cpu" "server_rss_kb=$rss" \
            "cmd=$(printf '%s ' "${cmd[@]}" | $PY -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')" <"$raw" |
            tee -a "$RESULTS/tls_hits.jsonl"
          sleep 1
        done
      done
    done
    stop_bg "$server-edge"
  done
  stop_bg nginx-origin
fi

# ---------------------------------------------------------------- part 2: HTTP-FLV fan-out
if [[ " $PARTS " == *" flv "* ]]; then
  SRC600=$RUN/media/src600.flv
  mkdir -p "$RUN/media"
  if [ ! -s "$SRC600" ]; then
    for f in /tmp/bench-edge/media/src600.flv /tmp/bench-run/media/src600.flv; do [ -s "$f" ] && cp "$f" "$SRC600" && break; done
  fi
  if [ ! -s "$SRC600" ]; then
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 \
      -f lavfi -i sine=frequency=1000:sample_rate=44100 -t 60 \
      -c:v libx264 -preset veryfast -b:v 520k -maxrate 520k -bufsize 1040k -g 50 -keyint_min 50 -sc_threshold 0 \
      -pix_fmt yuv420p -c:a aac -b:a 64k -ar 44100 -f flv "$SRC600"
  fi
  BPS=$(ffprobe -v error -show_entries format=bit_rate -of default=nw=1:nk=1 "$SRC600")
  # The harness's viewer client, over https (a copy: the harness stays read-only). Certificates are
  # not checked by the client: both servers serve the same one, and the cost is the server's.
  sed -e 's/require("node:http")/require("node:https")/' -e 's/{ agent: false }/{ agent: false, rejectUnauthorized: false }/' \
    "$BENCH/live/viewers.js" >"$RUN/viewers_tls.js"
  # nginx terminating TLS in front of the edge's http port, streaming (no buffering)
  mkdir -p "$RUN/nginx-tls/tmp"
  cat >"$RUN/nginx-tls/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $RUN/nginx-tls/nginx.pid;
events { worker_connections 10000; }
worker_rlimit_nofile 20000;
http {
  access_log off;
  client_body_temp_path $RUN/nginx-tls/tmp/body;
  proxy_temp_path $RUN/nginx-tls/tmp/proxy;
  fastcgi_temp_path $RUN/nginx-tls/tmp/fastcgi;
  uwsgi_temp_path $RUN/nginx-tls/tmp/uwsgi;
  scgi_temp_path $RUN/nginx-tls/tmp/scgi;
  ssl_certificate $TLS/edge.crt;
  ssl_certificate_key $TLS/edge.key;
  server {
    listen 127.0.0.1:18444 ssl;
    location / {
      proxy_pass http://127.0.0.1:18081;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_read_timeout 60s;
    }
  }
}
EOF
  cp "$ROOT"/bench/{edge_fanout,origin_fanout_33ms}.yaml "$SRC_DIR/bench/"
  ORIGIN_CMD="env -C $SRC_DIR deno run -A main.ts --roles origin --config bench/origin_fanout_33ms.yaml >>$RESULTS/meridian-origin.log 2>&1"
  EDGE_CMD="env -C $SRC_DIR $MTLS MERIDIAN_EDGE_TLS_PORT=18443 deno run -A main.ts --roles edge --config bench/edge_fanout.yaml >>$RESULTS/meridian-edge.log 2>&1"
  start_bg origin taskset -c "$CLIENT_CPU" bash -c "exec $ORIGIN_CMD"
  wait_port tcp 19351 200
  start_bg edge taskset -c "$SERVER_CPU" bash -c "exec $EDGE_CMD"
  wait_port tcp 18443 200
  for t in $FLV_TARGETS; do
    case $t in
      meridian-http) url=http://127.0.0.1:18081/live/stream.flv; client=$BENCH/live/viewers.js; extra="" ;;
      meridian-https) url=https://127.0.0.1:18443/live/stream.flv; client=$RUN/viewers_tls.js; extra="" ;;
      nginx-tls) url=https://127.0.0.1:18444/live/stream.flv; client=$RUN/viewers_tls.js; extra=nginx-tls
        start_bg nginx-tls taskset -c "$SERVER_CPU" nginx -c "$RUN/nginx-tls/nginx.conf" -p "$RUN/nginx-tls" \
          -e "$RUN/logs/nginx-tls-error.log" -g 'daemon off;'; wait_port tcp 18444 ;;
    esac
    for n in $NS; do
      start_bg publisher taskset -c "$CLIENT_CPU" ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$SRC600" \
        -c copy -t $((DUR + 20)) -f flv rtmp://127.0.0.1:19351/live/stream
      sleep 3
      warm=$(( DUR / 3 )); raw=$RESULTS/raw/flv-$t-$n
      taskset -c "$CLIENT_CPU" node "$client" --mode flv --url "$url" --n "$n" --duration "$DUR" --warmup "$warm" \
        --expect-bps "$BPS" >"$raw.json" 2>"$raw.err" & cpid=$!
      ( sleep "$warm"; $PY "$BENCH/tools/procstat.py" "$(pid_of edge)" $((DUR - warm)) >"$RUN/m-edge.json" ) & p1=$!
      echo '{}' >"$RUN/m-nginx.json"; p2=
      if [ -n "$extra" ]; then ( sleep "$warm"; $PY "$BENCH/tools/procstat.py" "$(pid_of nginx-tls)" $((DUR - warm)) >"$RUN/m-nginx.json" ) & p2=$!; fi
      wait "$cpid"; wait "$p1"; [ -n "$p2" ] && wait "$p2"
      stop_bg publisher
      $PY - "$raw.json" "$RUN/m-edge.json" "$RUN/m-nginx.json" "$t" "$n" "$BPS" "$VER" <<'PYEOF' | tee -a "$RESULTS/tls_flv.jsonl"
import json, sys
raw, ef, nf, t, n, bps, ver = sys.argv[1:]
try:
    r = json.load(open(raw))
except Exception as e:
    r = {"error": "client produced no result: %s" % e}
e = json.load(open(ef)); g = json.load(open(nf))
r.update({"test": "tls_flv", "target": t, "n": int(n), "stream_bitrate_bps": int(bps), "version": ver,
          "edge_cpu_pct": e.get("cpu_pct"), "edge_rss_kb_max": e.get("rss_kb_max"),
          "nginx_cpu_pct": g.get("cpu_pct"), "nginx_rss_kb_max": g.get("rss_kb_max")})
print(json.dumps(r))
PYEOF
      sleep 6   # past edge.live.idleCloseMs (5 s): every run starts from a cold upstream
    done
    [ -n "$extra" ] && stop_bg nginx-tls
  done
  stop_bg edge; stop_bg origin
fi
log "done; results in $RESULTS (tls_hits.jsonl, tls_flv.jsonl, raw/, env.txt, meridian-*.log)"
