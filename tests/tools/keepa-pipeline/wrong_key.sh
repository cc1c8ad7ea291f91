#!/usr/bin/env bash
# Issue 19: a key Keepa refuses. keepa-sim accepts one key and answers any
# other with 402 PAYMENT_REQUIRED; keepa-pipeline runs with another. It must
# count the refusals (status line, /status), stop by itself after
# --keepa.client.max-auth-failures (here 3) in a row with a clear message
# and exit code 3, and never print either key. Bounded: it gets 30 s.
#
# usage: wrong_key.sh KEEPA_SIM KEEPA_PIPELINE
set -euo pipefail

sim=$1
pipeline=$2
dir=$(mktemp -d)
fail() { echo "FAILED: $*" >&2; exit 1; }
good="good-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
wrong="wrong-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$good KEEPA_API_KEY=$wrong

source "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
start_sim "$sim" --sim.refill-rate=20 --sim.products=200

# run-for bounds the run: a pipeline that never gives up ends after 30 s
# with exit code 0, which fails the test.
rc=0
timeout 60 "$pipeline" --keepa.client.endpoint="http://127.0.0.1:$port" \
  --keepa.storage.url="sqlite:$dir/deals.db" \
  --keepa.status-every=1s --keepa.run-for=30s \
  --keepa.client.max-auth-failures=3 \
  --keepa.http.port=0 --keepa.introspection.port=0 \
  >"$dir/out" 2>"$dir/err" || rc=$?
cat "$dir/err" "$dir/out"
((rc == 3)) || fail "exit status $rc, expected 3 (the key was refused)"
grep -q "^keepa-pipeline: stopped: Keepa refused the API key 3 times in a row" \
  "$dir/err" || fail "no clear message on stderr"
grep -q "HTTP 402" "$dir/err" || fail "the message does not name the status"
grep -q "auth failures [1-9]" "$dir/err" \
  || fail "no status line showed the authentication failures"
! grep -q -- "$wrong" "$dir/out" "$dir/err" || fail "the key was printed"
! grep -q -- "$good" "$dir/out" "$dir/err" || fail "the sim's key was printed"
echo "PASSED: exit 3 after 3 refusals"
