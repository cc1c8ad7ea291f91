#!/usr/bin/env bash
# Whether keepa-pipeline spends what a plan generates: per refill rate, one
# keepa-sim (an empty bucket, a feed of UPDATES, default max(600, R), book
# updates a minute over a catalogue of PRODUCTS books) and one keepa-pipeline run side by side in
# real time; after a warm-up, the tokens Keepa reports as consumed
# (/metrics keepa_tokens_consumed_total) are sampled over a window and set
# against the tokens the plan generated in it (R per minute). Prints spent,
# generated, their ratio, the balance at the end, the share of the window
# the peek-filter was dry waiting for the feed (the scanner's dry-ms), and
# the scanner's feed state and slices.
#
# usage: tools/feed-bench/feed-bench.sh [BUILD_DIR [WARMUP_S [WINDOW_S [RATE:PRODUCTS[:UPDATES]...]]]]
#        defaults: build 60 600 1000:30000 20000:300000
# FEED_BENCH_OPTIONS adds keepa-pipeline options to every run.
set -euo pipefail

build=${1:-build}
warmup=${2:-60}
window=${3:-600}
shift $(( $# < 3 ? $# : 3 ))
runs=("$@")
(( ${#runs[@]} )) || runs=(1000:30000 20000:300000)
# shellcheck source=../bench-processes.sh
source "$(dirname "$0")/../bench-processes.sh"
bench_setup feed-bench "$build"
http_port=$(( 24400 + RANDOM % 500 ))
# All runs at once: one window for every rate.
for run in "${runs[@]}"; do
  IFS=: read -r rate products updates <<<"$run"
  dir="$tmp/r$rate"
  mkdir -p "$dir"
  bench_sim "$dir" "$rate" "$products" "$updates"
  http_port=$((http_port + 1))
  echo "$http_port" >"$dir/http.port"
  # shellcheck disable=SC2086
  bench_pipeline "$dir" "$http_port" --keepa.status-every=10s ${FEED_BENCH_OPTIONS:-}
done
get() { # get DIR PATH
  curl -s --max-time 5 -H "Authorization: Bearer $(cat "$1/http.token")" \
    "http://127.0.0.1:$(cat "$1/http.port")$2"
}
consumed() { get "$1" /metrics | awk '/^keepa_tokens_consumed_total/{s+=$2} END{print s+0}'; }
balance() { get "$1" /metrics | awk '/^keepa_token_balance/{print $2}'; }
scanner() { get "$1" /status.txt | grep '^scanner:' || true; }
field() { { grep -o "[[:space:]]$1=[^ ]*" || true; } | head -1 | cut -d= -f2 | tr -d '"'; }
sleep "$warmup"
declare -A c0 d0
for run in "${runs[@]}"; do
  rate=${run%%:*}
  c0[$rate]=$(consumed "$tmp/r$rate")
  d0[$rate]=$(scanner "$tmp/r$rate" | field dry-ms)
done
sleep "$window"
printf '%-7s %-9s %-7s %7s %10s %10s %7s %10s %6s  %s\n' R products updates window spent generated "spent%" balance "dry%" "scanner"
for run in "${runs[@]}"; do
  IFS=: read -r rate products updates <<<"$run"
  updates=${updates:-$(( rate < 600 ? 600 : rate ))}
  dir="$tmp/r$rate"
  c1=$(consumed "$dir")
  gen=$(( rate * window / 60 ))
  pct=$(awk -v s="$((c1 - c0[$rate]))" -v g="$gen" 'BEGIN{printf "%.1f", 100 * s / g}')
  sc=$(scanner "$dir")
  d1=$(field dry-ms <<<"$sc")
  dry=$(awk -v a="${d0[$rate]:-0}" -v b="${d1:-0}" -v w="$window" 'BEGIN{printf "%.1f", (b - a) / 10 / w}')
  feed="feed=$(field feed <<<"$sc") slices=$(field slices <<<"$sc") passes=$(field passes <<<"$sc") overflows=$(field overflows <<<"$sc") held-back=$(field held-back <<<"$sc")"
  printf '%-7s %-9s %-7s %7s %10s %10s %7s %10s %6s  %s\n' "$rate" "$products" "$updates" "${window}s" \
    "$((c1 - c0[$rate]))" "$gen" "$pct" "$(balance "$dir")" "$dry" "$feed"
  if [[ -n ${FEED_BENCH_KEEP:-} ]]; then
    mkdir -p "$FEED_BENCH_KEEP" && cp "$dir"/pipeline.err "$FEED_BENCH_KEEP/r$rate.err"
    get "$dir" /status.txt >"$FEED_BENCH_KEEP/r$rate.status" || true
  fi
done
