#!/usr/bin/env bash
# Meridian's multi-region lab on one Linux machine (root): a network namespace per node, each
# with one veth into a bridge that lives in a namespace of its own, so the host's network is
# never touched (no address, route or link outside the namespaces made here). Regions get
# latency between them with tc netem (when the kernel has sch_netem; else the lab runs without
# it and says so). Every step is idempotent: `up` twice is `up` once, `down` removes whatever
# exists of the lab (also after a partial `up`).
#
#   deploy/lab/lab.sh check            can this machine make the lab? (root, ip netns)
#   deploy/lab/lab.sh up | down        build | tear down the namespaces, links and latency
#   deploy/lab/lab.sh status           what exists, and whether netem is on
#   deploy/lab/lab.sh nodes            "NAME REGION ADDRESS" per node (what the tests read)
#   deploy/lab/lab.sh exec NODE CMD…   run CMD inside NODE's namespace
#   deploy/lab/lab.sh start | stop     run | stop Meridian (deploy/lab/config/*.yaml), Redis
#                                      and a test publisher in the lab (logs: $LAB_RUN/*.log)
#
# Environment: LAB_PREFIX (namespace prefix, default mlab), LAB_DELAY_{CORE,EU,US,AS} (one-way
# delay in ms added to traffic leaving a node of that region for another region; defaults 5,
# 10, 35, 60), LAB_RUN (run directory, default /tmp/meridian-lab).
set -euo pipefail

PREFIX=${LAB_PREFIX:-mlab}
NET=10.77
RUN=${LAB_RUN:-/tmp/meridian-lab}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# name region host-part: addresses are $NET.<host-part>/16, one /24 per region.
NODES=(
  "origin core 1.1"
  "backup core 1.2"
  "shield core 1.3"
  "redis core 1.4"
  "edge-eu eu 2.1"
  "sched-a eu 2.5"
  "client-eu eu 2.100"
  "edge-us us 3.1"
  "sched-b us 3.5"
  "client-us us 3.100"
  "edge-as as 4.1"
  "client-as as 4.100"
)
declare -A REGION_NET=([core]=1 [eu]=2 [us]=3 [as]=4)
declare -A DELAY=(
  [core]=${LAB_DELAY_CORE:-5}
  [eu]=${LAB_DELAY_EU:-10}
  [us]=${LAB_DELAY_US:-35}
  [as]=${LAB_DELAY_AS:-60}
)
BRIDGE_NS="$PREFIX-net"

say() { printf 'lab: %s\n' "$*" >&2; }
ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

check() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "lab: needs root (network namespaces)" >&2
    return 1
  fi
  local probe="$PREFIX-probe$$"
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "lab: 'ip netns add' failed (no network namespaces here)" >&2
    return 1
  fi
  ip netns del "$probe" 2>/dev/null || true
  echo "lab: ok (root, ip netns works)"
}

# A node's delay to other regions: a prio qdisc sends the node's own region's /24 to a plain
# band and everything else through netem. Returns 1 when this kernel has no netem.
add_latency() {
  local ns=$1 region=$2
  local ms=${DELAY[$region]}
  [ "$ms" -gt 0 ] || return 0
  ip netns exec "$ns" tc qdisc del dev eth0 root 2>/dev/null || true
  ip netns exec "$ns" tc qdisc add dev eth0 root handle 1: prio bands 3 \
    priomap 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 2>/dev/null || return 1
  if ! ip netns exec "$ns" tc qdisc add dev eth0 parent 1:2 handle 20: netem delay "${ms}ms" 2>/dev/null; then
    ip netns exec "$ns" tc qdisc del dev eth0 root 2>/dev/null || true
    return 1
  fi
  ip netns exec "$ns" tc filter add dev eth0 parent 1: protocol ip prio 1 u32 \
    match ip dst "$NET.${REGION_NET[$region]}.0/24" flowid 1:1
}

up() {
  check >/dev/null
  mkdir -p "$RUN"
  if ! ns_exists "$BRIDGE_NS"; then ip netns add "$BRIDGE_NS"; fi
  ip -n "$BRIDGE_NS" link set lo up
  if ! ip -n "$BRIDGE_NS" link show br0 >/dev/null 2>&1; then
    ip -n "$BRIDGE_NS" link add br0 type bridge
  fi
  ip -n "$BRIDGE_NS" link set br0 up
  local netem=on
  for entry in "${NODES[@]}"; do
    read -r name region host <<<"$entry"
    local ns="$PREFIX-$name"
    ns_exists "$ns" || ip netns add "$ns"
    ip -n "$ns" link set lo up
    if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
      ip -n "$BRIDGE_NS" link add "v-$name" type veth peer name eth0 netns "$ns"
    fi
    ip -n "$BRIDGE_NS" link set "v-$name" master br0 up
    if ! ip -n "$ns" addr show dev eth0 | grep -q "$NET.$host/16"; then
      ip -n "$ns" addr add "$NET.$host/16" dev eth0
    fi
    ip -n "$ns" link set eth0 up
    if [ "$netem" = on ] && ! add_latency "$ns" "$region"; then
      netem=off
      say "tc netem unavailable in this kernel (no sch_netem): regions run without added latency"
    fi
  done
  echo "$netem" >"$RUN/netem"
  say "up: ${#NODES[@]} nodes on $NET.0.0/16 (netem $netem)"
}

down() {
  stop 2>/dev/null || true
  local n=0
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
    # Whatever still runs inside (a test's processes): the lab made it, the lab ends it.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    n=$((n + 1))
  done
  rm -f "$RUN/netem"
  say "down: $n namespaces removed"
}

status() {
  local have=0
  for entry in "${NODES[@]}"; do
    read -r name region host <<<"$entry"
    if ns_exists "$PREFIX-$name"; then
      have=$((have + 1))
      printf '%-10s %-5s %s.%s\n' "$name" "$region" "$NET" "$host"
    fi
  done
  echo "lab: $have of ${#NODES[@]} nodes up; netem $(cat "$RUN/netem" 2>/dev/null || echo unknown)"
}

nodes() {
  for entry in "${NODES[@]}"; do
    read -r name region host <<<"$entry"
    echo "$name $region $NET.$host"
  done
}

# start/stop: the lab's services for a person at the keyboard (the tests run their own).
bg() { # bg NAME LOG CMD...: run CMD in NAME's namespace, detached, pid in $RUN/NAME.pid
  local name=$1 log=$2
  shift 2
  ip netns exec "$PREFIX-$name" setsid "$@" >"$log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

start() {
  up
  local deno=${DENO:-deno}
  bg redis "$RUN/redis.log" redis-server --bind "$NET.1.4" --port 6379 --save "" \
    --appendonly no --protected-mode no --dir "$RUN"
  sleep 0.5
  for pair in origin:origin backup:origin shield:origin edge-eu:edge edge-us:edge \
    edge-as:edge sched-a:scheduler,control sched-b:scheduler; do
    local name=${pair%%:*} roles=${pair#*:}
    mkdir -p "$RUN/$name"
    (cd "$ROOT" && MERIDIAN_DATA_DIR="$RUN/$name" bg "$name" "$RUN/$name.log" \
      "$deno" run -A main.ts --roles "$roles" --config "deploy/lab/config/$name.yaml")
  done
  sleep 3
  bg client-eu "$RUN/publisher.log" ffmpeg -v error -re -f lavfi -i testsrc2=size=640x360:rate=25 \
    -f lavfi -i sine -map 0:v -map 1:a -c:v libx264 -preset veryfast -g 50 -flags:v +global_header \
    -c:a aac -f tee "[f=flv:onfail=ignore]rtmp://$NET.1.1/live/cam|[f=flv:onfail=ignore]rtmp://$NET.1.2/live/cam"
  say "started; try: $0 exec client-eu dig @$NET.2.5 -p 5353 live.lab.meridian.test +subnet=81.2.69.0/24 +short"
}

stop() {
  [ -d "$RUN" ] || return 0
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || continue
    local pid
    pid=$(cat "$f")
    # The process group setsid made: the service and its children.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

cmd=${1:-}
shift || true
case "$cmd" in
  check) check ;;
  up) up ;;
  down) down ;;
  status) status ;;
  nodes) nodes ;;
  exec)
    node=${1:?usage: lab.sh exec NODE CMD...}
    shift
    exec ip netns exec "$PREFIX-$node" "$@"
    ;;
  start) start ;;
  stop) stop ;;
  *)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
