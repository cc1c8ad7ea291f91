#!/usr/bin/env bash
# keepa-pipeline's CPU share against a real keepa-sim on 127.0.0.1, for
# scheduler variants side by side: per refill rate, one keepa-sim and one
# keepa-pipeline per variant run at once; after a warm-up, utime+stime
# (/proc/PID/stat) and the context switches (/proc/PID/status) of each
# pipeline are sampled over a window. Prints CPU share of one core,
# switches/s and the ratio against the first variant of the same rate.
#
# usage: tools/cpu-bench/cpu-bench.sh [BUILD_DIR [WARMUP_S [WINDOW_S [RATES...]]]]
#        defaults: build 10 60 5 1000 20000 (a window of whole minutes
#        holds the same number of refill steps for every variant)
# CPU_BENCH_VARIANTS="name|options" lines replace the variants below.
set -euo pipefail

build=${1:-build}
warmup=${2:-10}
window=${3:-60}
shift $(( $# < 3 ? $# : 3 ))
rates=("$@")
(( ${#rates[@]} )) || rates=(5 1000 20000)
# shellcheck source=../bench-processes.sh
source "$(dirname "$0")/../bench-processes.sh"
bench_setup cpu-bench "$build"
# name|extra keepa-pipeline options (the first is the baseline)
variants=(
  "CAF default: stealing, 4|--scheduler.policy=stealing --scheduler.max-threads=4"
  "keepa default: sharing, 2|"
  "stealing, 2, relaxed poll|--scheduler.policy=stealing --scheduler.max-threads=2 --work-stealing.aggressive-poll-attempts=10 --work-stealing.moderate-poll-attempts=0 --work-stealing.relaxed-sleep-duration=1s"
)
[[ -n ${CPU_BENCH_VARIANTS:-} ]] && mapfile -t variants <<<"$CPU_BENCH_VARIANTS"
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Summed over the process's threads (CAF's workers, libcurl's, storage).
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/{v+=$2} /^nonvoluntary_ctxt_switches/{n+=$2} END{print v, n}'; }
http_port=24300
printf '%-8s %-28s %9s %7s %12s %12s %12s\n' R variant "CPU %" ratio "vol sw/s" "invol sw/s" "committed"
for rate in "${rates[@]}"; do
  run_pids=()
  i=0
  for v in "${variants[@]}"; do
    name=${v%%|*}
    opts=${v#*|}
    dir="$tmp/r$rate-$i"
    mkdir -p "$dir"
    # Steady state from the start: an empty bucket, a feed scaled to R.
    bench_sim "$dir" "$rate" 20000
    http_port=$((http_port + 1))
    # shellcheck disable=SC2086
    bench_pipeline "$dir" "$http_port" $opts
    run_pids+=($pid)
    echo "$name" >"$dir/name"
    i=$((i + 1))
  done
  sleep "$warmup"
  declare -A t0 s0 c0
  for k in "${!run_pids[@]}"; do
    p=${run_pids[$k]}
    t0[$k]=$(ticks "$p"); s0[$k]=$(switches "$p")
    c0[$k]=$(grep -o 'committed [0-9]*' "$tmp/r$rate-$k/pipeline.err" | tail -1 | awk '{print $2}')
  done
  sleep "$window"
  base=""
  for k in "${!run_pids[@]}"; do
    p=${run_pids[$k]}
    t1=$(ticks "$p"); read -r v1 n1 < <(switches "$p"); read -r v0 n0 <<<"${s0[$k]}"
    c1=$(grep -o 'committed [0-9]*' "$tmp/r$rate-$k/pipeline.err" | tail -1 | awk '{print $2}')
    cpu=$(awk -v a="${t0[$k]}" -v b="$t1" -v hz="$hz" -v w="$window" 'BEGIN{printf "%.3f", 100 * (b - a) / hz / w}')
    [[ -z $base ]] && base=$cpu
    ratio=$(awk -v x="$cpu" -v b="$base" 'BEGIN{printf "%.2f", (b > 0 ? x / b : 0)}')
    vs=$(awk -v a="$v0" -v b="$v1" -v w="$window" 'BEGIN{printf "%.1f", (b - a) / w}')
    ns=$(awk -v a="$n0" -v b="$n1" -v w="$window" 'BEGIN{printf "%.1f", (b - a) / w}')
    printf '%-8s %-28s %9s %7s %12s %12s %12s\n' "$rate" "$(cat "$tmp/r$rate-$k/name")" "$cpu" "$ratio" "$vs" "$ns" "$(( ${c1:-0} - ${c0[$k]:-0} ))"
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
  unset t0 s0 c0
done
