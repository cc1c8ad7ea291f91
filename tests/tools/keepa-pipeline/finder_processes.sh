#!/usr/bin/env bash
# Issue 21: keepa-pipeline discovers candidates through Product Finder
# (--keepa.scan.source=finder) against the keepa-sim executable over
# loopback, with trackings lowering the refill (--sim.flow-reduction).
# Passes when deals are stored, the scanner read /query pages and no /deal
# page, TOKEN plans with the net rate (3000 - 1000.5 -> 1999), no request
# drew a 429, and the pipeline exits 0 on SIGTERM.
#
# usage: finder_processes.sh KEEPA_SIM KEEPA_PIPELINE
set -euo pipefail

sim=$1
pipeline=$2
dir=$(mktemp -d)
fail() { echo "FAILED: $*" >&2; exit 1; }
key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key

source "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
source "$(dirname "${BASH_SOURCE[0]}")/free_port.sh"
start_sim "$sim" --sim.refill-rate=3000 --sim.flow-reduction=1000.5 \
          --sim.products=5000 --sim.update-rate=300 --sim.latency-ms=5
http_port=$(free_port)

"$pipeline" --keepa.client.endpoint="http://127.0.0.1:$port" \
            --keepa.storage.url="sqlite:$dir/deals.db" \
            --keepa.scan.source=finder \
            --keepa.http.port="$http_port" \
            --keepa.http.token-file="$dir/http.token" \
            --keepa.introspection.port=0 \
            >"$dir/out" 2>"$dir/err" &
pipeline_pid=$!

# What /status says, reduced to the figures the test reads.
figures() {
  curl -s -m 5 -H "Authorization: Bearer $(cat "$dir/http.token")" \
    "http://127.0.0.1:$http_port/status" \
    | python3 -c '
import json, sys
r = json.load(sys.stdin)
s = r["actors"]["scanner"]
c = r["actors"]["client"]
print(s.get("finder-pages", 0), s.get("pages", 0), r["storage"]["deals"],
      r["token"]["refill_rate"], c.get("http-429", 0))'
}

# Wait (at most 60 s) until finder pages were read and deals are stored.
deadline=$((SECONDS + 60))
read -r finder_pages deal_pages deals rate http429 <<<"0 0 0 0 0"
while ((SECONDS < deadline)); do
  if [[ -s $dir/http.token ]] && f=$(figures 2>/dev/null) && [[ -n $f ]]; then
    read -r finder_pages deal_pages deals rate http429 <<<"$f"
    ((finder_pages > 0 && deals > 0)) && break
  fi
  kill -0 "$pipeline_pid" 2>/dev/null \
    || fail "keepa-pipeline ended: $(cat "$dir/err")"
  sleep 0.2
done
echo "finder pages $finder_pages, deal pages $deal_pages, deals $deals," \
     "refill rate $rate, 429s $http429"
((finder_pages > 0)) || fail "no Product Finder page read: $(cat "$dir/err")"
((deals > 0)) || fail "no deals stored: $(cat "$dir/err")"
((deal_pages == 0)) || fail "the scanner read /deal pages"
((rate == 1999)) || fail "TOKEN plans with $rate a minute, not the net 1999"
((http429 == 0)) || fail "$http429 requests drew a 429"

stop_pipeline 10
((rc == 0)) || fail "exit status $rc after SIGTERM: $(cat "$dir/err")"
stored=$(sqlite3 "$dir/deals.db" "SELECT count(*) FROM deals")
((stored >= deals)) || fail "$stored deals in the database, /status said $deals"
! grep -q -- "$key" "$dir/out" "$dir/err" || fail "the key was printed"
echo "PASSED: $stored deals stored from Product Finder"
