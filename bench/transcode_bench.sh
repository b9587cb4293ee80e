#!/usr/bin/env bash
# Transcoding benchmarks (issue 15): CPU per rendition beside the same ffmpeg command run by
# hand (and Meridian's own CPU: the supervision and packaging overhead), publish → first
# segment of every rendition, and a VOD job's speed (× real time) per x264 preset.
#
# usage (from the project root): bench/transcode_bench.sh [WINDOW_SECONDS=20] [cpu|first-segment|vod|all]
# env: SRC_SIZE (1280x720), FPS (30), GOP_SECONDS (2), SRC_KBPS (3000), PROFILES (480p,360p),
#      PRESETS (ultrafast,veryfast,medium), VOD_SECONDS (30), RUNS (3). Loopback only; every
#      child is killed by its own pid. These runs load every core: not on a shared machine.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export WINDOW_SECONDS=${1:-20}
WHAT=${2:-all}
run() { deno run -A bench/transcode_bench.ts "$1"; }
case "$WHAT" in
  all) run cpu; run first-segment; run vod ;;
  *) run "$WHAT" ;;
esac
