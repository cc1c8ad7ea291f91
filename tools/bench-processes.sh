# Sourced by the real-time benchmarks (cpu-bench, feed-bench, rss-bench): keepa-sim and
# keepa-pipeline side by side on 127.0.0.1, in a temporary directory, all
# stopped at exit.
#
# bench_setup NAME BUILD_DIR: checks the programs, sets $sim, $pipeline,
#   $tmp, a random key for both and the cleanup.
# bench_sim DIR RATE PRODUCTS [UPDATES]: starts keepa-sim with an empty
#   bucket ($bench_initial_tokens if set: -1 = full) and a feed of UPDATES
#   (default max(600, RATE)) book updates a minute; sets $port.
# bench_pipeline DIR HTTP_PORT [OPTIONS...]: starts keepa-pipeline against
#   $port with its SQLite file, HTTP endpoint and token in DIR; sets $pid.

bench_setup() {
  bench_name=$1
  sim="$2/tools/keepa-sim/keepa-sim"
  pipeline="$2/tools/keepa-pipeline/keepa-pipeline"
  for exe in "$sim" "$pipeline"; do
    [[ -x $exe ]] || { echo "$bench_name: $exe not built" >&2; exit 2; }
  done
  tmp=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
  local key
  key="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
  export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}

bench_sim() {
  local dir=$1 rate=$2 products=$3 updates=${4:-}
  updates=${updates:-$(( rate < 600 ? 600 : rate ))}
  "$sim" --sim.port=0 --sim.refill-rate="$rate" \
    --sim.initial-tokens="${bench_initial_tokens:-0}" \
    --sim.products="$products" --sim.update-rate="$updates" \
    --sim.seed=7 >"$dir/sim.out" 2>"$dir/sim.err" &
  pids+=($!)
  # A big catalogue takes a while to build.
  for _ in $(seq 1200); do grep -q listening "$dir/sim.out" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/.*://p' "$dir/sim.out" | head -1)
  [[ -n $port ]] || { echo "$bench_name: keepa-sim did not start" >&2; exit 1; }
}

bench_pipeline() {
  local dir=$1 http=$2
  shift 2
  "$pipeline" --keepa.client.endpoint="http://127.0.0.1:$port" \
    --keepa.storage.url="sqlite:$dir/deals.db" --keepa.http.port="$http" \
    --keepa.http.token-file="$dir/http.token" --keepa.introspection.port=0 \
    "$@" >"$dir/pipeline.out" 2>"$dir/pipeline.err" &
  pid=$!
  pids+=($pid)
}
