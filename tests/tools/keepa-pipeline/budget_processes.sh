#!/usr/bin/env bash
# The shared budget with real processes (issue 22), about 20 s: keepa-sim,
# keepa-token on loopback (the owner's CA made in a fresh
# $XDG_RUNTIME_DIR) and two keepa-pipeline processes spending from it. One
# pipeline is killed with -9; the other is stopped with SIGTERM and must
# exit 0 within 10 s. Passes when both stored deals, the server granted
# and settled, the dead one's grants are gone, and the key appears in no
# output of keepa-token.
#
# usage: budget_processes.sh KEEPA_SIM KEEPA_TOKEN KEEPA_PIPELINE
set -euo pipefail

sim=$1
token=$2
pipeline=$3
dir=$(mktemp -d)
fail() { echo "FAILED: $*" >&2; exit 1; }
key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key
mkdir -m 700 "$dir/xdg"
export XDG_RUNTIME_DIR=$dir/xdg

source "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
start_sim "$sim" --sim.refill-rate=300 --sim.products=5000 \
          --sim.update-rate=300
token_pid= other_pid=
stop_all() {
  [[ -n $other_pid ]] && kill -KILL "$other_pid" 2>/dev/null
  [[ -n $token_pid ]] && kill -KILL "$token_pid" 2>/dev/null
  cleanup
}
trap stop_all EXIT

# keepa-token holds no key.
env -u KEEPA_API_KEY "$token" --keepa.token.port=0 --keepa.status-every=1s \
  >"$dir/token" 2>&1 &
token_pid=$!
timeout 20 bash -c "until grep -q 'TOKEN on' '$dir/token'; do sleep 0.1; done" \
  || fail "keepa-token did not start: $(cat "$dir/token")"
remote=$(grep -o 'TOKEN on 127.0.0.1:[0-9]*' "$dir/token" | cut -d' ' -f3)

run_pipeline() {
  KEEPA_API_KEY=$key "$pipeline" \
    --keepa.client.endpoint="http://127.0.0.1:$port" \
    --keepa.storage.url="sqlite:$dir/$1.db" --keepa.status-every=1s \
    --keepa.http.port=0 --keepa.introspection.port=0 \
    --keepa.token.remote="$remote" >"$dir/$1.out" 2>"$dir/$1.err" &
}
run_pipeline one
pipeline_pid=$!
run_pipeline two
other_pid=$!
timeout 60 bash -c "until grep -q 'committed [1-9]' '$dir/one.err' \
  && grep -q 'committed [1-9]' '$dir/two.err'; do sleep 0.2; done" \
  || fail "no deals: $(tail -n 3 "$dir/one.err" "$dir/two.err")"
kill -KILL "$other_pid"
other_pid=
stop_pipeline 10
((rc == 0)) || fail "exit status $rc after SIGTERM: $(cat "$dir/one.err")"
cat "$dir/one.out"
grep -q 'stored deals [1-9]' "$dir/one.out" || fail "no summary"
timeout 10 bash -c "until tail -n 1 '$dir/token' | grep -q 'outstanding 0 '; \
  do sleep 0.2; done" || fail "grants outstanding: $(tail -n 1 "$dir/token")"
tail -n 1 "$dir/token"
grep -q 'granted [1-9]' <(tail -n 1 "$dir/token") || fail "nothing granted"
! grep -q "$key" "$dir/token" || fail "the key in keepa-token's output"
echo "PASSED"
