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

source "$(dirname "${BASH_SOURCE[0]}")/budget.sh" "$@"

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
