# Sourced by the benchmark scripts that run keepa-pipeline against a real
# keepa-sim (cpu-bench, rss-bench): a temporary directory `tmp`, the
# processes they start (`pids`, stopped on exit), a throwaway key for both
# programs, and keepa-sim on a free port of 127.0.0.1.

tmp=$(mktemp -d)
pids=()
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap bench_cleanup EXIT
key="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key

# bench_sim KEEPA_SIM DIR RATE [OPTION...]: keepa-sim at refill rate RATE
# with a feed scaled to it (max(600, R) updates a minute, 20 000 products,
# seed 7), its output in DIR; sets `port`.
bench_sim() {
  local sim=$1 dir=$2 rate=$3
  shift 3
  "$sim" --sim.port=0 --sim.refill-rate="$rate" --sim.products=20000 \
    --sim.update-rate=$(( rate < 600 ? 600 : rate )) --sim.seed=7 "$@" \
    >"$dir/sim.out" 2>"$dir/sim.err" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q listening "$dir/sim.out" 2>/dev/null && break
    sleep 0.1
  done
  port=$(sed -n 's/.*://p' "$dir/sim.out" | head -1)
  [[ -n $port ]] || { echo "$0: keepa-sim did not start" >&2; exit 1; }
}
