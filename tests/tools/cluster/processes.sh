# Sourced by cluster.sh: the processes of a cluster test (PostgreSQL,
# keepa-sim, keepa-token, keepa-pipeline), reading their figures, and
# stopping all of them. Expects $mode, $token, $pipeline and free_port
# from the caller.

source "$(dirname "${BASH_SOURCE[0]}")/../keepa-pipeline/pg.sh"

fail() {
  echo "FAILED ($mode): $*" >&2
  exit 1
}

# A run's directory ($dir, readable by PostgreSQL's user), a random key
# ($key, keepa-sim's too) and a fresh XDG_RUNTIME_DIR in it, where the
# owner's CA of keepa-token and the pipelines is made.
begin_run() {
  dir=$(mktemp -d)
  chmod 755 "$dir"
  key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
  export KEEPA_SIM_KEY=$key
  mkdir -m 700 "$dir/xdg"
  export XDG_RUNTIME_DIR=$dir/xdg
}
sim_pid=
token_pid=
declare -A pipeline_pids=()

# Stops everything this test started (the trap on EXIT): pipelines and
# keepa-token with SIGKILL (a failed test wants no graceful end),
# keepa-sim, PostgreSQL; removes $dir unless KEEP_DIR is set.
stop_everything() {
  local n
  for n in "${!pipeline_pids[@]}"; do
    kill -KILL "${pipeline_pids[$n]}" 2>/dev/null || true
  done
  [[ -n $token_pid ]] && kill -KILL "$token_pid" 2>/dev/null || true
  [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null || true
  stop_pg
  if [[ -n ${KEEP_DIR:-} ]]; then
    echo "kept $dir" >&2
  else
    rm -rf "$dir"
  fi
}

now_ms() {
  echo $(($(date +%s%N) / 1000000))
}

# psql_value SQL: one value (or rows of |-separated values), no headers.
psql_value() {
  psql "$pg_conn" -XAtq -v ON_ERROR_STOP=1 -c "$1"
}

# start_sim KEEPA_SIM OPTION...: sets sim_pid and port.
start_sim() {
  local exe=$1 line
  shift
  coproc SIM { exec "$exe" --sim.port=0 "$@" 2>"$dir/sim.err"; }
  sim_pid=$SIM_PID
  read -r -t 30 line <&"${SIM[0]}" || fail "keepa-sim did not start"
  port=${line##*:}
}

# keepa-sim's own figures: /sim/stats into $dir/sim.NAME.json.
read_sim_stats() {
  curl -sf --max-time 5 "http://127.0.0.1:$port/sim/stats?key=$key" \
    >"$dir/sim.$1.json" || fail "no /sim/stats"
}
# stat_of NAME FIELD: a field of the stats read as NAME.
stat_of() {
  jq -r ".$2" "$dir/sim.$1.json"
}

# Waits until just before the next refill tick (at most 1 s before it) that
# comes after the tick of the previous call.
ticks_seen=-1
wait_before_tick() {
  local deadline=$(($(date +%s) + 75)) s ticks left
  while (($(date +%s) < deadline)); do
    s=$(curl -sf --max-time 5 "http://127.0.0.1:$port/sim/stats?key=$key") \
      || fail "no /sim/stats"
    read -r ticks left < <(jq -r '"\(.ticks) \(.refill_in_ms)"' <<<"$s")
    if ((ticks > ticks_seen && left <= 1000)); then
      ticks_seen=$ticks
      return 0
    fi
    if ((left > 1500)); then
      sleep "$(((left - 1200) / 1000)).$(((left - 1200) % 1000 / 100))"
    else
      sleep 0.1
    fi
  done
  fail "no refill tick within 75 s"
}

# start_token: keepa-token on $token_port (status every 200 ms, appended to
# $dir/token); waits until it serves.
token_starts=0
start_token() {
  local before
  before=$(token_serving_count)
  # keepa-token holds no key.
  env -u KEEPA_API_KEY "$token" --keepa.token.port="$token_port" \
    --keepa.status-every=200ms >>"$dir/token" 2>&1 &
  token_pid=$!
  token_starts=$((token_starts + 1))
  wait_until 20 token_serving "$before" \
    || fail "keepa-token did not start: $(tail -n 5 "$dir/token")"
}
# How often keepa-token said it serves.
token_serving_count() {
  local n
  n=$(grep -c 'TOKEN on' "$dir/token" 2>/dev/null) || n=0
  echo "${n:-0}"
}
token_serving() {
  (($(token_serving_count) > $1))
}

# write_query NAME DOMAIN LOW,HIGH: the deal query of pipeline NAME (used
# price between LOW and HIGH cents) in $dir/NAME.query.json.
write_query() {
  local low=${3%,*} high=${3#*,}
  cat >"$dir/$1.query.json" <<EOF
{
  "domainId": $2,
  "priceTypes": [2],
  "dateRange": 0,
  "sortType": 1,
  "page": 0,
  "isFilterEnabled": false,
  "isRangeEnabled": true,
  "currentRange": [$low, $high],
  "titleSearch": ""
}
EOF
}

# start_pipeline NAME: keepa-pipeline NAME spending from keepa-token; its
# output in $dir/NAME.out and .err (appended across restarts).
start_pipeline() {
  local n=$1 http
  http=$(free_port)
  echo "$http" >"$dir/$n.http"
  KEEPA_API_KEY=$key "$pipeline" \
    --keepa.client.endpoint="http://127.0.0.1:$port" \
    --keepa.storage.url="postgresql:$(pipeline_conn "$n")" \
    --keepa.token.remote="$remote" \
    --keepa.scan.query-file="$dir/$n.query.json" \
    --keepa.update.interval=1s --keepa.update.refresh-after=5s \
    --keepa.http.port="$http" --keepa.http.token-file="$dir/$n.bearer" \
    --keepa.introspection.port=0 --keepa.status-every=1s \
    "${pipeline_options[@]}" $(options_of "$n") \
    >>"$dir/$n.out" 2>>"$dir/$n.err" &
  pipeline_pids[$n]=$!
}

# status NAME: pipeline NAME's /status (JSON), or nothing.
status() {
  local bearer
  bearer=$(cat "$dir/$1.bearer" 2>/dev/null) || return 0
  curl -s --max-time 5 -H "Authorization: Bearer $bearer" \
    "http://127.0.0.1:$(cat "$dir/$1.http")/status" || true
}
# field NAME PATH: one field of pipeline NAME's /status (jq path), or empty.
field() {
  status "$1" | jq -r "$2 // empty" 2>/dev/null || true
}
# connected NAME: pipeline NAME spends from keepa-token, which knows the
# plan (an observation arrived).
connected() {
  local rate
  rate=$(field "$1" .token.refill_rate)
  ((${rate:-0} > 0))
}

# stop_pipeline NAME: SIGTERM; fails the test unless it exits 0 within 20 s.
stop_pipeline() {
  local pid=${pipeline_pids[$1]} rc=0
  kill -TERM "$pid"
  timeout 20 tail --pid="$pid" -f /dev/null \
    || fail "$1 still running 20 s after SIGTERM: $(tail -n 3 "$dir/$1.err")"
  wait "$pid" || rc=$?
  unset "pipeline_pids[$1]"
  ((rc == 0)) || fail "$1 exited $rc after SIGTERM: $(tail -n 3 "$dir/$1.err")"
}
