#!/usr/bin/env bash
# How fast keepa-pipeline's dashboard answers with DEALS stored deals:
# fills a SQLite file (keepa-web-bench-fill, through the storage backend),
# starts keepa-sim and keepa-pipeline on it over loopback (the pipeline
# keeps writing while the dashboard reads), then
#  - times each file of the page and each JSON endpoint with curl, RUNS
#    times (median and slowest of time_total: connect, request, answer);
#  - loads the page as a browser does (/?token=, /, its files, the JSON
#    its script asks for at start) RUNS times: wall time to the last
#    answer.
# Prints the page's weight in bytes. Every wait is bounded; everything
# started is stopped.
#
# usage: tools/web-bench/web-bench.sh [BUILD_DIR [DEALS [RUNS]]]
#        (defaults build 100000 20)
set -euo pipefail

build=${1:-build}
deals=${2:-100000}
runs=${3:-20}
sim="$build/tools/keepa-sim/keepa-sim"
pipeline="$build/tools/keepa-pipeline/keepa-pipeline"
fill="$build/tools/web-bench/keepa-web-bench-fill"
for exe in "$sim" "$pipeline" "$fill"; do
  [[ -x $exe ]] || { echo "web-bench: $exe not built" >&2; exit 2; }
done
for tool in curl jq; do
  command -v "$tool" >/dev/null \
    || { echo "web-bench: $tool missing (bash tools/setup.sh)" >&2; exit 2; }
done
dir=$(mktemp -d)
fail() { echo "web-bench: FAILED: $*" >&2; exit 1; }
key="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../../tests/tools/keepa-pipeline/sim.sh"
source "$here/../../tests/tools/keepa-pipeline/free_port.sh"
source "$here/../../tests/tools/keepa-pipeline/dashboard.sh"

"$fill" "$dir/bench.db" "$deals"
start_sim "$sim" --sim.refill-rate=300 --sim.products=5000 \
          --sim.update-rate=60 --sim.seed=7
start_dashboard bench
base=http://127.0.0.1:$http_port
total=$(curl -sf -H "Authorization: Bearer $token" "$base/api/deals?limit=1" \
        | jq .total)
((total >= deals)) || fail "only $total deals readable"

# median and slowest of RUNS timings (seconds) on stdin, in ms
stats() {
  sort -g | awk '{ x[NR] = $1 } END {
    printf "%8.1f %8.1f", 1000 * x[int((NR + 1) / 2)], 1000 * x[NR] }'
}

echo "web-bench: $total stored deals, $runs runs each; ms (median, slowest)"
printf '%-58s %8s %8s %8s\n' "request" "median" "slowest" "bytes"
weight=0
for path in / /app.js /style.css /api/summary /api/balance /api/locales \
            "/api/deals?order=roi&limit=50" \
            "/api/deals?order=profit&limit=50" \
            "/api/deals?order=rank&limit=50" \
            "/api/deals?order=newest&limit=50" \
            "/api/deals?order=roi&limit=50&offset=50000" \
            "/api/deals?order=roi&limit=50&offset=$((total - 50))" \
            "/api/deals?order=roi&limit=200&min_roi_bp=5000" \
            "/api/deals?order=profit&limit=50&min_profit_cents=2000&domain=uk" \
            "/api/deals?order=newest&limit=50&seen_within_seconds=3600" \
            "/api/deals?order=rank&limit=50&max_rank=1000&domain=de"; do
  bytes=$(curl -sf -H "Authorization: Bearer $token" "$base$path" | wc -c)
  times=$(for _ in $(seq "$runs"); do
            curl -sf -o /dev/null -w '%{time_total}\n' \
              -H "Authorization: Bearer $token" "$base$path"
          done | stats)
  printf '%-58s %s %8d\n' "$path" "$times" "$bytes"
  case $path in /|/app.js|/style.css) weight=$((weight + bytes)) ;; esac
done
echo "page weight (/, /app.js, /style.css): $weight bytes"

# The whole page as a browser loads it: / first, then its script and style
# sheet at once, then the four JSON requests the script sends at start at
# once (the first page of deals among them); wall time from the first
# request to the last answer. (Headless Chromium's clocks run on virtual
# time when it waits for scripts, so it cannot time this itself.)
page() {
  local t0 t1
  t0=$(date +%s%N)
  curl -sf -o /dev/null "$url" -c "$dir/jar"
  curl -sf -o /dev/null -b "$dir/jar" "$base/"
  curl -sf -o /dev/null -b "$dir/jar" "$base/app.js" &
  curl -sf -o /dev/null -b "$dir/jar" "$base/style.css" &
  wait
  for path in "/api/deals?order=roi&limit=50&offset=0" /api/summary \
              /api/balance /api/locales; do
    curl -sf -o /dev/null -b "$dir/jar" "$base$path" &
  done
  wait
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000 ))e-6"
}
for _ in $(seq "$runs"); do page; done | stats \
  | awk '{ printf "page load (/?token= login, /, its files, the first 50 deals by ROI and the rest of its JSON): median %s ms, slowest %s ms\n", $1, $2 }'
stop_pipeline 10
