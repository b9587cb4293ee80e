#!/usr/bin/env bash
# HTTP caching conformance (http-tests/cache-tests, the suite behind cache-tests.fyi) of
# Meridian's edge beside nginx proxy_cache and Varnish from Debian, in the same run, against the
# suite's own origin. Prints pass / required-fail counts side by side and the list of Meridian's
# remaining required failures. Not part of the unit tests: it needs `npm install`.
#
# usage (from the project root):
#   bench/run_cache_tests.sh [CACHES="meridian meridian-deno nginx varnish"]
# env: SUITE (default /work/shared/conformance/cache-tests.tgz, read-only; it carries the
#      CT_SETUP_BASE patch, see its README), KEEP=1 keeps the temp dir (results *.json, logs).
#
# `meridian` is the edge on Meridian's HTTP/1.1 server (the default `edge.httpServer: http1`),
# `meridian-deno` the same edge on Deno.serve. Meridian runs from a copy of the working tree
# taken at start. Every child gets its own free port on 127.0.0.1, is started in the background
# with its PID kept and is stopped by that PID (never by name); each suite run is bounded by
# `timeout`. The suite's setup requests (PUT /config, GET /state) go straight to its origin
# (CT_SETUP_BASE) because the edge answers unsafe methods 405; every test request goes through
# the cache under test.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUITE=${SUITE:-/work/shared/conformance/cache-tests.tgz}
CACHES=${1:-"meridian meridian-deno nginx varnish"}
RUN_TIMEOUT=${RUN_TIMEOUT:-900} # seconds per suite run
START_TIMEOUT=30                # seconds for a server to start listening

TMP=$(mktemp -d /tmp/meridian-cache-tests.XXXXXX)
PIDS=()
log() { echo "[cache-tests] $*" >&2; }

cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null
  done
  for p in "${PIDS[@]}"; do
    # Up to 5 s for a clean exit, then SIGKILL, by PID only.
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  if [ "${KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Polls until something answers HTTP on 127.0.0.1:$1 (any status), or fails after START_TIMEOUT.
wait_http() {
  local deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/healthz"; then return 0; fi
    sleep 0.2
  done
  log "nothing listening on port $1 after ${START_TIMEOUT} s"
  return 1
}

log "suite: $SUITE -> $TMP/ct"
mkdir -p "$TMP/ct" && tar -xzf "$SUITE" -C "$TMP/ct" || exit 1
(cd "$TMP/ct" && timeout 300 npm install --no-audit --no-fund --silent >"$TMP/npm.log" 2>&1) || {
  log "npm install failed (see $TMP/npm.log)"
  KEEP=1
  exit 1
}

ORIGIN_PORT=$(free_port)
(cd "$TMP/ct" && exec env npm_config_port="$ORIGIN_PORT" npm_config_protocol=http \
  npm_config_pidfile="$TMP/origin.pid" node test-engine/server/server.mjs) >"$TMP/origin.log" 2>&1 &
PIDS+=($!)
wait_http "$ORIGIN_PORT" || exit 1
log "origin: node test-engine/server/server.mjs on 127.0.0.1:$ORIGIN_PORT"

SRC=$TMP/meridian-src
mkdir -p "$SRC"
(cd "$ROOT" && tar --exclude=./.git --exclude=./data --exclude=./tests --exclude=./node_modules -cf - .) |
  tar -xf - -C "$SRC"
(cd "$SRC" && timeout 120 deno install --quiet) || exit 1
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l)

start_meridian() { # name server port
  cat >"$TMP/$1.yaml" <<EOF
dataDir: $TMP/$1-data
log: { level: warn }
edge:
  hostname: 127.0.0.1
  port: $3
  httpServer: $2
  origins:
    - { url: "http://127.0.0.1:$ORIGIN_PORT" }
EOF
  (cd "$SRC" && exec deno run -A main.ts --roles edge --config "$TMP/$1.yaml") >"$TMP/$1.log" 2>&1 &
  PIDS+=($!)
}

start_nginx() { # port
  mkdir -p "$TMP/nginx/cache" "$TMP/nginx/tmp" "$TMP/nginx/logs"
  # The suite's own nginx config (docker/nginx/nginx.conf), on our ports and temp dirs.
  cat >"$TMP/nginx/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/tmp/body;
  proxy_cache_path $TMP/nginx/cache levels=1:2 keys_zone=ct:8m max_size=256m inactive=600m;
  proxy_temp_path $TMP/nginx/tmp/proxy;
  server {
    listen 127.0.0.1:$1;
    location / {
      proxy_pass http://127.0.0.1:$ORIGIN_PORT;
      proxy_cache ct;
      proxy_cache_revalidate on;
      proxy_http_version 1.1;
    }
  }
}
EOF
  /usr/sbin/nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' >"$TMP/nginx/logs/stdout.log" 2>&1 &
  PIDS+=($!)
}

start_varnish() { # port
  mkdir -p "$TMP/varnish"
  # Builtin VCL with one backend (-b). -t 0: no default TTL for answers without freshness
  # information (the stock 120 s fails `freshness-none`, on which most tests depend);
  # -p default_grace=0: no stale serving past max-age unless the origin asks for it (the stock
  # 10 s grace fails every `*-stale` test); -j none: no privilege separation in a temp dir.
  /usr/sbin/varnishd -F -j none -n "$TMP/varnish/work" -a "127.0.0.1:$1" -b "127.0.0.1:$ORIGIN_PORT" \
    -s malloc,256m -T none -t 0 -p default_grace=0 >"$TMP/varnish/stdout.log" 2>&1 &
  PIDS+=($!)
}

VERSIONS=()
for c in $CACHES; do
  port=$(free_port)
  case $c in
    meridian) start_meridian "$c" http1 "$port"; VERSIONS+=("$c: meridian $GIT_REV (+$DIRTY uncommitted paths), edge.httpServer http1, $(deno --version | head -1)") ;;
    meridian-deno) start_meridian "$c" deno "$port"; VERSIONS+=("$c: meridian $GIT_REV (+$DIRTY uncommitted paths), edge.httpServer deno") ;;
    nginx) start_nginx "$port"; VERSIONS+=("$c: $(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //') proxy_cache (the suite's docker/nginx config)") ;;
    varnish) start_varnish "$port"; VERSIONS+=("$c: $(/usr/sbin/varnishd -V 2>&1 | head -1 | sed 's/ revision.*//;s/[()]//g') builtin VCL, -t 0 -p default_grace=0") ;;
    *) log "unknown cache '$c' (meridian, meridian-deno, nginx, varnish)"; exit 2 ;;
  esac
  wait_http "$port" || exit 1
  log "$c on 127.0.0.1:$port: running the suite (at most ${RUN_TIMEOUT} s)"
  started=$SECONDS
  (cd "$TMP/ct" && CT_SETUP_BASE="http://127.0.0.1:$ORIGIN_PORT" timeout "$RUN_TIMEOUT" \
    npm run --silent cli --base="http://127.0.0.1:$port") >"$TMP/$c.json" 2>"$TMP/$c.err" || {
    log "$c: suite run failed or timed out (see $TMP/$c.err)"
    KEEP=1
  }
  log "$c: done in $((SECONDS - started)) s"
done

# Counts with the suite's own rules (test-engine/lib/results.mjs, dependencies honoured).
cat >"$TMP/ct/summarize.mjs" <<'EOF'
import fs from 'fs'
import tests from './tests/index.mjs'
import { determineTestResult, resultTypes } from './test-engine/lib/results.mjs'
const [dir, ...caches] = process.argv.slice(2)
const ids = tests.flatMap((s) => s.tests.map((t) => t.id))
const rows = []
const failsOf = {}
for (const c of caches) {
  let results
  try { results = JSON.parse(fs.readFileSync(`${dir}/${c}.json`, 'utf8')) } catch { results = undefined }
  const n = { pass: 0, requiredFail: 0, optionalFail: 0, checkYes: 0, checkNo: 0, setupOrHarness: 0, dependency: 0 }
  failsOf[c] = []
  for (const id of ids) {
    if (!results) break
    const r = determineTestResult(tests, id, results)
    if (r === resultTypes.pass) n.pass++
    else if (r === resultTypes.fail) { n.requiredFail++; failsOf[c].push(id) }
    else if (r === resultTypes.optional_fail) n.optionalFail++
    else if (r === resultTypes.yes) n.checkYes++
    else if (r === resultTypes.no) n.checkNo++
    else if (r === resultTypes.dependency_fail) n.dependency++
    else if (r !== resultTypes.untested) n.setupOrHarness++
  }
  rows.push([c, results ? n : undefined])
}
const cols = ['pass', 'requiredFail', 'optionalFail', 'checkYes', 'checkNo', 'dependency', 'setupOrHarness']
console.log(`| cache | ${cols.join(' | ')} |`)
console.log(`| --- | ${cols.map(() => '---:').join(' | ')} |`)
for (const [c, n] of rows) console.log(`| ${c} | ${cols.map((k) => n ? n[k] : 'no result').join(' | ')} |`)
for (const c of caches.filter((c) => c.startsWith('meridian'))) {
  console.log(`\n${c}: required failures (${failsOf[c].length})`)
  for (const id of failsOf[c]) console.log(`  ${id}`)
}
EOF
echo
echo "cache-tests $(node -p "require('$TMP/ct/package.json').version") ($(basename "$SUITE")), $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores"
for v in "${VERSIONS[@]}"; do echo "  $v"; done
echo
# shellcheck disable=SC2086
(cd "$TMP/ct" && node summarize.mjs "$TMP" $CACHES)
