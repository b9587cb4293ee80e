#!/usr/bin/env bash
# Live fan-out benchmark of Meridian's origin beside nginx-rtmp and node-media-server, using the
# shared harness (../shared/bench, read-only) with Meridian as its `custom` target, in the same run.
#
# usage (from the project root):
#   bench/run_live_fanout.sh [DURATION=20] [REPEATS=1] [NS="100 500 1000"] [PARTS="load rss hls capacity latency"]
# parts:
#   load      run_live.sh load part, TARGETS (default: nginx-rtmp:rtmp nms:flv custom:flv custom:rtmp)
#   rss       Meridian again at N=500 (FLV and RTMP), RSS_REPEATS (default 3) runs in one process each:
#             does RSS grow from run to run?
#   hls       publish -> first HLS segment: nginx-rtmp, then Meridian (run_live.sh hls part, both publishers)
#   capacity  600 kbps stream (640x360 25 fps, 520k video + 64k AAC, 2 s GOP), live/viewers.js run directly
#             with CAP_NS (default "2000 4000") viewers; CAP_TARGETS (default "custom:flv custom:rtmp nginx-rtmp:rtmp")
#   latency   end-to-end publisher -> viewer latency of single tags (embedded Node client), idle and beside
#             LAT_LOAD_N (default 1000) viewers; Meridian HTTP-FLV + RTMP, nginx-rtmp RTMP
# env: BENCH (default ../shared/bench), RUN (/tmp/bench-run), RESULTS (default $RUN/results-meridian;
#      never beside the shared harness), SNAPSHOT=1 (default: run a copy of the working tree taken at start,
#      so that edits made by others during the run do not change the server under test; head = a copy of
#      the last commit (git archive HEAD); 0 = run in place)
# Servers pinned to core 1, ffmpeg publisher and viewer client to core 0 (harness defaults).
# Everything is bounded in time and goes to 127.0.0.1 only. Nothing is killed by name.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$(cd "$ROOT/../shared/bench" && pwd)}
export RUN=${RUN:-/tmp/bench-run}
export RESULTS=${RESULTS:-$RUN/results-meridian}
DUR=${1:-20}
REP=${2:-1}
NS=${3:-"100 500 1000"}
PARTS=${4:-"load rss hls capacity latency"}
mkdir -p "$RUN" "$RESULTS"
# shellcheck source=/dev/null
. "$BENCH/lib.sh"

# ---------------------------------------------------------------- the server under test
SRC_DIR=$ROOT
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l)
case ${SNAPSHOT:-1} in
  1)  # the working tree as it is now, uncommitted edits included
    SRC_DIR=$RUN/meridian-src
    rm -rf "$SRC_DIR" && mkdir -p "$SRC_DIR"
    (cd "$ROOT" && tar --exclude=./.git --exclude=./data --exclude=./tests -cf - .) | tar -xf - -C "$SRC_DIR" ;;
  head)  # the last commit only (git archive; the working tree's node_modules is linked for npm deps)
    SRC_DIR=$RUN/meridian-src
    rm -rf "$SRC_DIR" && mkdir -p "$SRC_DIR"
    git -C "$ROOT" archive HEAD | tar -xf - -C "$SRC_DIR"
    ln -s "$ROOT/node_modules" "$SRC_DIR/node_modules"
    cp "$ROOT/bench/live_origin.yaml" "$SRC_DIR/bench/live_origin.yaml"
    DIRTY=0 ;;
esac
mkdir -p "$RUN/meridian-data"
# stdout/stderr appended to one log over the whole run (the harness overwrites $RUN/logs/custom.log per start)
# SERVER_ENV (e.g. "MALLOC_ARENA_MAX=2") and DENO_FLAGS (e.g. "--v8-flags=--max-semi-space-size=2") let a run try
# process settings; both empty by default.
export CUSTOM_CMD="env -C $SRC_DIR ${SERVER_ENV:-} deno run -A ${DENO_FLAGS:-} main.ts --roles origin --config bench/live_origin.yaml >>$RESULTS/meridian.log 2>&1"
export CUSTOM_RTMP_PORT=19351
export CUSTOM_FLV_URL=http://127.0.0.1:18001/live/stream.flv
export CUSTOM_HLS_PLAYLIST=http://127.0.0.1:18001/live/stream.m3u8
export CUSTOM_VERSION="meridian $GIT_REV (+$DIRTY uncommitted paths), $(deno --version | head -1)"
log "server under test: $CUSTOM_CMD  [$CUSTOM_VERSION]  results -> $RESULTS"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "cpu:  $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), mem $(free -g | awk '/Mem/{print $2}') GiB"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "node: $(node --version)  deno: $(deno --version | head -1)  ffmpeg: $(ffmpeg -version | head -1 | cut -d' ' -f3)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*nginx\///') + libnginx-mod-rtmp $(dpkg-query -W -f='${Version}' libnginx-mod-rtmp)"
  echo "meridian: $CUSTOM_VERSION"
} >>"$RESULTS/env.txt"

# ---------------------------------------------------------------- 1. fan-out, all targets in one run
if [[ " $PARTS " == *" load "* ]]; then
  TARGETS=${TARGETS:-"nginx-rtmp:rtmp nms:flv custom:flv custom:rtmp"} \
    "$BENCH/live/run_live.sh" "$DUR" "$REP" "$NS" load
fi

# ---------------------------------------------------------------- 2. RSS across repeated runs
if [[ " $PARTS " == *" rss "* ]]; then
  TARGETS="custom:flv custom:rtmp" "$BENCH/live/run_live.sh" "$DUR" "${RSS_REPEATS:-3}" 500 load
fi

# ---------------------------------------------------------------- 3. publish -> first HLS segment
if [[ " $PARTS " == *" hls "* ]]; then
  for s in nginx-rtmp custom; do
    HLS_SERVER=$s "$BENCH/live/run_live.sh" 30 "${HLS_REPEATS:-2}" "" hls
  done
fi

# ---------------------------------------------------------------- 4. 600 kbps capacity (viewers.js directly)
if [[ " $PARTS " == *" capacity "* ]]; then
  SRC600=$RUN/media/src600.flv
  mkdir -p "$RUN/media" "$RESULTS/raw/capacity"
  if [ ! -s "$SRC600" ]; then
    log "pre-encoding 60 s 600 kbps stream -> $SRC600"
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 \
      -f lavfi -i sine=frequency=1000:sample_rate=44100 -t 60 \
      -c:v libx264 -preset veryfast -b:v 520k -maxrate 520k -bufsize 1040k -g 50 -keyint_min 50 -sc_threshold 0 \
      -pix_fmt yuv420p -c:a aac -b:a 64k -ar 44100 -f flv "$SRC600"
  fi
  BPS600=$(ffprobe -v error -show_entries format=bit_rate -of default=nw=1:nk=1 "$SRC600")
  log "600 kbps stream: container average $BPS600 bit/s"
  CAP_DUR=${CAP_DUR:-35}
  CAP_WARM=${CAP_WARM:-13}   # 4000 viewers x 2 ms stagger = 8 s of connecting before the window opens
  for target in ${CAP_TARGETS:-custom:flv custom:rtmp nginx-rtmp:rtmp}; do
    srv=${target%%:*}; mode=${target##*:}
    case $srv in
      custom)
        start_bg custom taskset -c "$SERVER_CPU" bash -c "exec $CUSTOM_CMD"
        wait_port tcp 19351 200; port=19351 ;;
      nginx-rtmp)
        rm -rf "$RUN/nginx-rtmp" "$RUN/hls"; mkdir -p "$RUN/nginx-rtmp" "$RUN/hls"
        render "$BENCH/live/nginx-rtmp.conf.tmpl" "$RUN/nginx-rtmp/nginx.conf"
        # 4000 viewers + publisher need more than the template's 4096 worker connections
        sed -i 's/worker_connections 4096;/worker_connections 10000;/' "$RUN/nginx-rtmp/nginx.conf"
        start_bg nginx-rtmp taskset -c "$SERVER_CPU" nginx -c "$RUN/nginx-rtmp/nginx.conf" -p "$RUN/nginx-rtmp" \
          -e "$RUN/logs/nginx-rtmp-error.log" -g 'daemon off;'
        wait_port tcp 1935; port=1935 ;;
    esac
    sleep 1
    spid=$(pid_of "$srv")
    if [ "$mode" = flv ]; then url="http://127.0.0.1:18001/live/stream.flv"; else url="rtmp://127.0.0.1:$port/live/stream"; fi
    for n in ${CAP_NS:-2000 4000}; do
      for rep in $(seq 1 "${CAP_REPEATS:-1}"); do
        start_bg publisher taskset -c "$CLIENT_CPU" ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$SRC600" \
          -c copy -t $((CAP_DUR + 15)) -f flv "rtmp://127.0.0.1:$port/live/stream"
        sleep 3
        idle=$($PY "$BENCH/tools/procstat.py" "$spid" 0.5)
        raw=$RESULTS/raw/capacity/$srv-$mode-$n-$rep
        cmd=(taskset -c "$CLIENT_CPU" node "$BENCH/live/viewers.js" --mode "$mode" --url "$url" --n "$n"
             --duration "$CAP_DUR" --warmup "$CAP_WARM" --expect-bps "$BPS600")
        "${cmd[@]}" >"$raw.json" 2>"$raw.err" &
        cpid=$!
        ( sleep "$CAP_WARM"; $PY "$BENCH/tools/procstat.py" "$spid" $((CAP_DUR - CAP_WARM)) >"$RUN/cap-server.json" ) &
        p1=$!
        ( sleep "$CAP_WARM"; $PY "$BENCH/tools/procstat.py" "$cpid" $((CAP_DUR - CAP_WARM - 1)) >"$RUN/cap-client.json" ) &
        p2=$!
        wait "$cpid"; wait "$p1"; wait "$p2"
        stop_bg publisher
        $PY - "$raw.json" "$RUN/cap-server.json" "$RUN/cap-client.json" "$idle" "$srv" "$n" "$rep" "$BPS600" \
          "${cmd[*]}" "$CUSTOM_VERSION" <<'PYEOF' | tee -a "$RESULTS/capacity.jsonl"
import json, sys
raw, sf, cf, idle, srv, n, rep, bps, cmd, ver = sys.argv[1:]
try:
    r = json.load(open(raw))
except Exception as e:
    r = {"error": "client produced no result: %s" % e}
s = json.load(open(sf)); c = json.load(open(cf)); i = json.loads(idle)
r.update({"test": "capacity600", "server": srv, "version": ver if srv == "custom" else srv, "rep": int(rep),
          "stream_bitrate_bps": int(bps), "server_cpu_pct": s["cpu_pct"], "server_cpu_peak_pct": s["cpu_pct_peak"],
          "server_rss_kb_max": s["rss_kb_max"], "server_rss_kb_idle_publishing": i["rss_kb_max"],
          "client_cpu_pct": c["cpu_pct"], "cmd": cmd})
print(json.dumps(r))
PYEOF
        sleep 3
      done
    done
    stop_bg "$srv"
  done
fi
# ---------------------------------------------------------------- 5. end-to-end latency publisher -> viewer
# One Node process publishes src.flv over RTMP in real time (stream live/lat) and plays it back (HTTP-FLV or
# RTMP) on the same clock: latency = arrival - send of the same tag, GOP-cache burst excluded. Idle, and
# beside LAT_LOAD_N (default 1000) viewers of live/stream.
if [[ " $PARTS " == *" latency "* ]]; then
  mkdir -p "$RESULTS/raw/latency"
  cat >"$RUN/lat.js" <<'JSEOF'
// End-to-end latency through a live server: this process is both the RTMP publisher (paces the
// tags of an FLV file in real time, recording when each tag was written to the socket) and one
// viewer (HTTP-FLV or RTMP play, recording when each tag arrived). latency = arrival - send of the
// same tag (type + timestamp), for tags sent after the viewer started playing (the GOP-cache burst
// is excluded). Both ends in one process: one clock, no sync issue. Dependency-free, bounded.
// usage: node lat.js --pub rtmp://127.0.0.1:19351/live/lat --play URL --file F.flv [--duration 20]
"use strict";
const net = require("node:net");
const http = require("node:http");
const fs = require("node:fs");
const A = {};
for (let i = 2; i < process.argv.length; i += 2) A[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const DUR = Number(A.duration || 20) * 1000;
const PLAY_AT = Number(A["play-at"] || 3) * 1000;
const now = () => performance.now();
setTimeout(() => { console.error("hard exit"); process.exit(2); }, DUR + 10000).unref();

// ---- FLV file
const f = fs.readFileSync(A.file);
const tags = [];
for (let p = 13; p + 11 <= f.length;) {
  const type = f[p], size = f.readUIntBE(p + 1, 3), ts = ((f[p + 7] << 24) | f.readUIntBE(p + 4, 3)) >>> 0;
  if (p + 11 + size > f.length) break;
  tags.push({ type, ts, data: f.subarray(p + 11, p + 11 + size) });
  p += 11 + size + 4;
}
// ---- AMF0 / chunks
function amf(v) {
  if (v === null) return Buffer.from([5]);
  if (typeof v === "number") { const b = Buffer.alloc(9); b.writeDoubleBE(v, 1); return b; }
  if (typeof v === "string") { const s = Buffer.from(v), b = Buffer.alloc(3); b[0] = 2; b.writeUInt16BE(s.length, 1); return Buffer.concat([b, s]); }
  const parts = [Buffer.from([3])];
  for (const [k, x] of Object.entries(v)) { const kb = Buffer.from(k), l = Buffer.alloc(2); l.writeUInt16BE(kb.length); parts.push(l, kb, amf(x)); }
  parts.push(Buffer.from([0, 0, 9])); return Buffer.concat(parts);
}
const cmd = (...a) => Buffer.concat(a.map(amf));
function chunk(csid, type, sid, payload, ts = 0, cs = 4096) {
  const h = Buffer.alloc(12); h[0] = csid; h.writeUIntBE(Math.min(ts, 0xffffff), 1, 3); h.writeUIntBE(payload.length, 4, 3); h[7] = type; h.writeUInt32LE(sid, 8);
  const parts = [h];
  for (let o = 0; o < payload.length; o += cs) { if (o) parts.push(Buffer.from([0xc0 | csid])); parts.push(payload.subarray(o, o + cs)); }
  return Buffer.concat(parts);
}
// minimal RTMP chunk reader: calls onMsg(type, ts, payload|null) (payload only for non-media)
function reader(onMsg) {
  let inChunk = 128, pend = Buffer.alloc(0); const cs = new Map();
  return (d) => {
    pend = pend.length ? Buffer.concat([pend, d]) : d;
    let p = 0; const b = pend;
    for (;;) {
      const start = p; if (p >= b.length) break;
      const fmt = b[p] >> 6; let csid = b[p] & 0x3f, hl = 1;
      if (csid === 0) { if (p + 2 > b.length) break; csid = 64 + b[p + 1]; hl = 2; } else if (csid === 1) { if (p + 3 > b.length) break; csid = 64 + b[p + 1] + b[p + 2] * 256; hl = 3; }
      let st = cs.get(csid); if (!st) { st = { ts: 0, delta: 0, len: 0, type: 0, rem: 0, parts: null, ext: false }; cs.set(csid, st); }
      const mhl = [11, 7, 3, 0][fmt]; if (p + hl + mhl > b.length) break;
      let q = p + hl, tsf = 0; const newMsg = st.rem === 0;
      if (fmt <= 2) tsf = b.readUIntBE(q, 3);
      if (fmt <= 1) { st.len = b.readUIntBE(q + 3, 3); st.type = b[q + 6]; }
      q += mhl; const ext = fmt <= 2 ? tsf === 0xffffff : st.ext;
      if (ext) { if (q + 4 > b.length) break; tsf = b.readUInt32BE(q); q += 4; }
      const n = Math.min(inChunk, newMsg ? st.len : st.rem);
      if (q + n > b.length) { p = start; break; }
      if (fmt <= 2) st.ext = ext;
      if (newMsg) { if (fmt === 0) { st.ts = tsf; st.delta = tsf; } else if (fmt <= 2) { st.delta = tsf; st.ts += tsf; } else st.ts += st.delta; st.rem = st.len; st.parts = []; }
      st.parts.push(b.subarray(q, q + n)); st.rem -= n; p = q + n;
      if (st.rem === 0) { const pl = Buffer.concat(st.parts); st.parts = null; if (st.type === 1) inChunk = pl.readUInt32BE(0) & 0x7fffffff; onMsg(st.type, st.ts >>> 0, pl); }
    }
    pend = p < b.length ? Buffer.from(b.subarray(p)) : Buffer.alloc(0);
  };
}
function rtmpConnect(url, onReady, onMsg) {
  const u = new URL(url), segs = u.pathname.split("/").filter(Boolean), app = segs[0], stream = segs.slice(1).join("/");
  const s = net.connect({ host: u.hostname, port: Number(u.port || 1935) }); s.setNoDelay(true);
  let hs = Buffer.alloc(0), phase = "hs", total = 0, lastAck = 0;
  s.on("connect", () => s.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)])));
  const rd = reader((type, ts, pl) => {
    if (type === 20) {
      const t = pl.toString("latin1");
      if (phase === "connect" && t.includes("_result")) { phase = "create"; s.write(chunk(3, 20, 0, cmd("createStream", 2, null))); }
      else if (phase === "create" && t.includes("_result")) { phase = "ready"; onReady(s, stream, pl.readDoubleBE(pl.length - 8)); }
      else onMsg(type, ts, pl, t);
    } else if (type === 4 && pl.readUInt16BE(0) === 6) { const r = Buffer.alloc(6); r.writeUInt16BE(7); pl.copy(r, 2, 2, 6); s.write(chunk(2, 4, 0, r)); }
    else onMsg(type, ts, pl, null);
  });
  s.on("data", (d) => {
    if (phase === "hs") {
      hs = Buffer.concat([hs, d]); if (hs.length < 3073) return;
      s.write(hs.subarray(1, 1537)); const rest = hs.subarray(3073); phase = "connect";
      const scs = Buffer.alloc(4); scs.writeUInt32BE(4096); s.write(chunk(2, 1, 0, scs));
      s.write(chunk(3, 20, 0, cmd("connect", 1, { app, tcUrl: `rtmp://${u.hostname}:${u.port}/${app}`, flashVer: "LNX 9,0,124,2", capabilities: 15 })));
      if (rest.length) rd(Buffer.from(rest)); return;
    }
    total += d.length; if (total - lastAck > 1000000) { const a = Buffer.alloc(4); a.writeUInt32BE(total >>> 0); s.write(chunk(2, 3, 0, a)); lastAck = total; }
    rd(d);
  });
  s.on("error", (e) => { console.error("rtmp error", url, e.message); });
  return s;
}
// ---- publisher
const sent = new Map(); let t0 = 0, pubSock = null, sid = 1, idx = 0, loop = 0;
const LOOP_MS = tags[tags.length - 1].ts + 40;
function pump() {
  const el = now() - t0;
  while (pubSock && !pubSock.destroyed) {
    const t = tags[idx]; const ts = t.ts + loop * LOOP_MS;
    if (ts > el) break;
    if (t.type === 18) { if (loop === 0) pubSock.write(chunk(5, 18, sid, Buffer.concat([amf("@setDataFrame"), t.data]))); }
    else { pubSock.write(chunk(t.type === 8 ? 4 : 6, t.type, sid, t.data, ts)); sent.set(t.type + ":" + ts, now()); }
    if (++idx >= tags.length) { idx = 0; loop++; }
  }
}
let pubCand = null;
rtmpConnect(A.pub, (s, stream, streamId) => {
  sid = streamId || 1; pubCand = s;
  s.write(chunk(8, 20, sid, cmd("publish", 3, null, stream, "live")));
}, (type, ts, pl, t) => {
  if (t && t.includes("NetStream.Publish.Start") && !pubSock) {
    pubSock = pubCand; t0 = now(); setInterval(pump, 1); setTimeout(startPlay, PLAY_AT);
  }
});
// ---- viewer
const lat = { 8: [], 9: [] }; let playStart = 0;
function arrived(type, ts) {
  if (type !== 8 && type !== 9) return;
  const s = sent.get(type + ":" + ts); if (s === undefined || s < playStart + 1000) return;
  lat[type].push(now() - s);
}
function startPlay() {
  playStart = now();
  if (A.play.startsWith("http")) {
    http.get(A.play, { agent: false }, (res) => {
      let buf = Buffer.alloc(0), p = 13;
      res.on("data", (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        while (p + 11 <= buf.length) {
          const size = buf.readUIntBE(p + 1, 3); if (p + 11 + size + 4 > buf.length) break;
          arrived(buf[p], ((buf[p + 7] << 24) | buf.readUIntBE(p + 4, 3)) >>> 0); p += 15 + size;
        }
        if (p > 1 << 20) { buf = Buffer.from(buf.subarray(p)); p = 0; }
      });
    });
  } else {
    rtmpConnect(A.play, (s, stream, streamId) => { s.write(chunk(8, 20, streamId || 1, cmd("play", 3, null, stream, -1000))); }, (type, ts) => arrived(type, ts));
  }
}
setTimeout(() => {
  const q = (a, x) => a.length ? +a[Math.min(a.length - 1, Math.floor(a.length * x))].toFixed(2) : null;
  const out = { pub: A.pub, play: A.play };
  for (const [k, name] of [[9, "video"], [8, "audio"]]) {
    const a = lat[k].sort((x, y) => x - y);
    out[name] = { n: a.length, min: q(a, 0), p50: q(a, 0.5), p95: q(a, 0.95), p99: q(a, 0.99), max: q(a, 1), mean: a.length ? +(a.reduce((s, x) => s + x, 0) / a.length).toFixed(2) : null };
  }
  console.log(JSON.stringify(out)); process.exit(0);
}, DUR);
JSEOF
  SRC=$RUN/media/src.flv   # made by run_live.sh (any part); same settings here if it is missing
  if [ ! -s "$SRC" ]; then
    mkdir -p "$RUN/media"
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=1000:sample_rate=44100 \
      -t 60 -c:v libx264 -preset veryfast -b:v 2000k -maxrate 2000k -bufsize 4000k -g 60 -keyint_min 60 -sc_threshold 0 \
      -pix_fmt yuv420p -c:a aac -b:a 128k -ar 44100 -f flv "$SRC"
  fi
  for srv in custom nginx-rtmp; do
    case $srv in
      custom) start_bg custom taskset -c "$SERVER_CPU" bash -c "exec $CUSTOM_CMD"; wait_port tcp 19351 200; port=19351
              plays="http://127.0.0.1:18001/live/lat.flv rtmp://127.0.0.1:19351/live/lat"; lmode=flv
              lurl=http://127.0.0.1:18001/live/stream.flv ;;
      nginx-rtmp)
        rm -rf "$RUN/nginx-rtmp" "$RUN/hls"; mkdir -p "$RUN/nginx-rtmp" "$RUN/hls"
        render "$BENCH/live/nginx-rtmp.conf.tmpl" "$RUN/nginx-rtmp/nginx.conf"
        start_bg nginx-rtmp taskset -c "$SERVER_CPU" nginx -c "$RUN/nginx-rtmp/nginx.conf" -p "$RUN/nginx-rtmp" \
          -e "$RUN/logs/nginx-rtmp-error.log" -g 'daemon off;'
        wait_port tcp 1935; port=1935; plays="rtmp://127.0.0.1:1935/live/lat"; lmode=rtmp
        lurl=rtmp://127.0.0.1:1935/live/stream ;;
    esac
    sleep 1
    for load in 0 "${LAT_LOAD_N:-1000}"; do
      if [ "$load" -gt 0 ]; then
        start_bg publisher taskset -c "$CLIENT_CPU" ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$SRC" \
          -c copy -t 40 -f flv "rtmp://127.0.0.1:$port/live/stream"
        sleep 3
        taskset -c "$CLIENT_CPU" node "$BENCH/live/viewers.js" --mode "$lmode" --url "$lurl" --n "$load" --duration 30 \
          --warmup 5 >"$RESULTS/raw/latency/$srv-load$load.viewers.json" 2>/dev/null &
        vpid=$!
        sleep 6
      fi
      k=0; lpids=()
      for play in $plays; do
        k=$((k + 1))
        taskset -c "$CLIENT_CPU" node "$RUN/lat.js" --pub "rtmp://127.0.0.1:$port/live/lat$k" --play "${play/\/lat/\/lat$k}" \
          --file "$SRC" --duration 20 | $PY -c "import json,sys; r=json.load(sys.stdin); r.update(server='$srv', background_viewers=$load); print(json.dumps(r))" \
          | tee -a "$RESULTS/latency.jsonl" &
        lpids+=($!)
      done
      wait "${lpids[@]}"
      if [ "$load" -gt 0 ]; then wait "$vpid"; stop_bg publisher; fi
      vpid=
      sleep 2
    done
    stop_bg "$srv"
  done
fi
log "done; results in $RESULTS (live.jsonl, capacity.jsonl, raw/); server logs in $RUN/logs"
