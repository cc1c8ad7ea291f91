#!/usr/bin/env bash
# Test 2 of issue 6: keepa-sim and keepa-pipeline as real processes over
# loopback with SQLite for about 20 s; then SIGTERM. Passes when deals are
# stored, every status line is sane, the pipeline exits 0 within 10 s of
# SIGTERM, and the key appears nowhere.
#
# usage: real_processes.sh KEEPA_SIM KEEPA_PIPELINE
set -euo pipefail

sim=$1
pipeline=$2
dir=$(mktemp -d)
fail() { echo "FAILED: $*" >&2; exit 1; }
key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key

source "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
start_sim "$sim" --sim.refill-rate=3000 --sim.products=5000 \
          --sim.update-rate=300 --sim.latency-ms=20

# stderr is a file, not a terminal: one plain status line per second. The
# status ports are off, so parallel tests cannot collide on them.
"$pipeline" --keepa.client.endpoint="http://127.0.0.1:$port" \
            --keepa.storage.url="sqlite:$dir/deals.db" \
            --keepa.status-every=1s \
            --keepa.http.port=0 --keepa.introspection.port=0 \
            >"$dir/out" 2>"$dir/err" &
pipeline_pid=$!

# About 20 s of work; the pipeline must not end by itself.
if timeout 20 tail --pid="$pipeline_pid" -f /dev/null; then
  fail "keepa-pipeline ended early: $(cat "$dir/err")"
fi
start=$(date +%s%N)
stop_pipeline 10
status=$rc
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$dir/err" "$dir/out"
((status == 0)) || fail "exit status $status after SIGTERM"
echo "exited 0, ${elapsed_ms} ms after SIGTERM"

# Status lines (not a terminal: one info record each): the documented
# shape, counters never going back.
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ info '
duration='[0-9]+ (s|min [0-9]+ s|h [0-9]+ min|d [0-9]+ h)'
status_re="^${stamp}(balance not known yet, asking Keepa|balance -?[0-9]+ \| (spending|recharging)(, waiting until the balance reaches -?[0-9]+(, in ${duration})?)?) \| committed [0-9]+(, [0-9]+ deals/h)? \| scanned [0-9]+ pre-rejected [0-9]+ peeked [0-9]+ rejected [0-9]+ updated [0-9]+ \| tokens/deal ([0-9]+|-)( \| feed-limited)? \| up ${duration}$"
lines=0
prev=(0 0 0 0 0 0)
while IFS= read -r l; do
  [[ $l == *" info balance "* ]] || continue
  [[ $l =~ $status_re ]] || fail "malformed status line: $l"
  cur=()
  for field in " committed" " scanned" " pre-rejected" " peeked" " rejected" \
    " updated"; do
    [[ $l =~ ${field}\ ([0-9]+) ]] || fail "no${field} in: $l"
    cur+=("${BASH_REMATCH[1]}")
  done
  for i in "${!cur[@]}"; do
    ((cur[i] >= prev[i])) || fail "a counter went back: $l"
  done
  prev=("${cur[@]}")
  lines=$((lines + 1))
done <"$dir/err"
((lines >= 15)) || fail "only $lines status lines in about 20 s"
grep -q "stopping (signal)" "$dir/err" || fail "no shutdown message"

# Deals stored, and the summary agrees with the database.
stored=$(sqlite3 "$dir/deals.db" "SELECT count(*) FROM deals")
((stored > 0)) || fail "no deals stored"
grep -q "stored deals $stored," "$dir/out" \
  || fail "summary disagrees with the database ($stored deals)"
integrity=$(sqlite3 "$dir/deals.db" "PRAGMA integrity_check")
[[ $integrity == ok ]] || fail "integrity_check: $integrity"

# The key is in no output and not in the database.
! grep -q -- "$key" "$dir/out" "$dir/err" || fail "the key was printed"
! grep -a -q -- "$key" "$dir/deals.db"* || fail "the key was stored"
echo "PASSED: $lines status lines, $stored deals stored"
