#!/usr/bin/env bash
# keepa-pipeline's peak RSS against a real keepa-sim on 127.0.0.1, with a
# database that already holds DEALS deals (keepa-storage-bench fill: last
# seen within the past 25 h, so the updater finds some stale ones). Per
# refill rate one keepa-sim (full bucket, the feed scaled to R) and one
# keepa-pipeline on its own copy of the database run at once, all rates side
# by side; each pipeline's VmHWM (/proc/PID/status) is read after RUN_S
# seconds. Prints VmHWM and VmRSS in MiB, the ratio of VmHWM against the
# first rate, and the deals committed in the run.
#
# usage: tools/rss-bench/rss-bench.sh [BUILD_DIR [RUN_S [DEALS [RATES...]]]]
#        defaults: build 120 1000000 5 20000
# RSS_BENCH_VARIANTS="name|keepa-pipeline executable" lines run several
# builds side by side (default: the one of BUILD_DIR).
set -euo pipefail

build=${1:-build}
run_s=${2:-120}
deals=${3:-1000000}
shift $(( $# < 3 ? $# : 3 ))
rates=("$@")
(( ${#rates[@]} )) || rates=(5 20000)
fill="$build/tools/storage-bench/keepa-storage-bench"
# shellcheck source=../bench-processes.sh
source "$(dirname "$0")/../bench-processes.sh"
bench_setup rss-bench "$build"
variants=("keepa-pipeline|$pipeline")
[[ -n ${RSS_BENCH_VARIANTS:-} ]] && mapfile -t variants <<<"$RSS_BENCH_VARIANTS"
for exe in "$fill" "${variants[@]#*|}"; do
  [[ -x $exe ]] || { echo "rss-bench: $exe not built" >&2; exit 2; }
done
# A full bucket: the pipeline spends at once, the peak comes early.
bench_initial_tokens=-1
"$fill" fill "$tmp/seed.db" "$deals"
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
mib() { awk -v x="$1" 'BEGIN{printf "%.1f", x / 1024}'; }
committed() { grep -o 'committed [0-9]*' "$1" | tail -1 | awk '{print $2}'; }

run_pids=()
dirs=()
http_port=24400
for rate in "${rates[@]}"; do
  for v in "${variants[@]}"; do
    dir="$tmp/run${#dirs[@]}"
    mkdir -p "$dir"
    cp "$tmp/seed.db" "$dir/deals.db"
    bench_sim "$dir" "$rate" 20000
    http_port=$((http_port + 1))
    pipeline=${v#*|}
    bench_pipeline "$dir" "$http_port"
    run_pids+=($pid)
    echo "$rate|${v%%|*}" >"$dir/name"
    dirs+=("$dir")
  done
done
sleep "$run_s"
printf '%-8s %-24s %12s %12s %7s %10s\n' R variant "VmHWM MiB" "VmRSS MiB" ratio committed
base=""
for k in "${!run_pids[@]}"; do
  p=${run_pids[$k]}
  d=${dirs[$k]}
  kill -0 "$p" 2>/dev/null || { echo "rss-bench: keepa-pipeline ended early:" >&2; tail -5 "$d/pipeline.err" >&2; exit 1; }
  hwm=$(kib "$p" VmHWM)
  rss=$(kib "$p" VmRSS)
  [[ -z $base ]] && base=$hwm
  IFS='|' read -r rate name <"$d/name"
  printf '%-8s %-24s %12s %12s %7s %10s\n' "$rate" "$name" "$(mib "$hwm")" \
    "$(mib "$rss")" "$(awk -v x="$hwm" -v b="$base" 'BEGIN{printf "%.2f", x / b}')" \
    "$(committed "$d/pipeline.err")"
done
