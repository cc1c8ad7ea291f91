#!/usr/bin/env bash
# Two locales on one key and one database (issue 22), about 20 s: keepa-sim,
# keepa-token on loopback and two keepa-pipeline processes spending from it,
# one for Amazon US (--keepa.locale=us, the shipped query) and one for
# Amazon UK (--keepa.locale=uk, a query of UK Books without a domainId),
# both storing into one SQLite file. Passes when both locales' deals are
# stored, each in its currency, and each pipeline kept its own watermark
# (scope us and uk) and stopped with exit 0.
#
# usage: locale_processes.sh KEEPA_SIM KEEPA_TOKEN KEEPA_PIPELINE
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/budget.sh" "$@"

cat >"$dir/uk.json" <<'JSON'
{"priceTypes": [2], "dateRange": 0, "sortType": 1, "page": 0,
 "isFilterEnabled": true, "includeCategories": [266239],
 "excludeCategories": [], "isRangeEnabled": false, "titleSearch": ""}
JSON

run_pipeline() { # NAME OPTION...
  local name=$1
  shift
  KEEPA_API_KEY=$key "$pipeline" \
    --keepa.client.endpoint="http://127.0.0.1:$port" \
    --keepa.storage.url="sqlite:$dir/deals.db" --keepa.status-every=1s \
    --keepa.http.port=0 --keepa.introspection.port=0 \
    --keepa.token.remote="$remote" "$@" >"$dir/$name.out" 2>"$dir/$name.err" &
}
run_pipeline us --keepa.locale=us
pipeline_pid=$!
run_pipeline uk --keepa.locale=uk --keepa.scan.query-file="$dir/uk.json"
other_pid=$!
# Until both committed a deal, at most 60 s; a pipeline that ended fails.
deadline=$((SECONDS + 60))
until grep -q 'committed [1-9]' "$dir/us.err" \
  && grep -q 'committed [1-9]' "$dir/uk.err"; do
  kill -0 "$pipeline_pid" 2>/dev/null && kill -0 "$other_pid" 2>/dev/null \
    && ((SECONDS < deadline)) \
    || fail "not both locales committed: $(tail -n 3 "$dir/us.err" "$dir/uk.err")"
  sleep 0.2
done
stop_pipeline 10
((rc == 0)) || fail "us: exit status $rc: $(tail -n 3 "$dir/us.err")"
pipeline_pid=$other_pid
other_pid=
stop_pipeline 10
((rc == 0)) || fail "uk: exit status $rc: $(tail -n 3 "$dir/uk.err")"

q() { sqlite3 "$dir/deals.db" "$1"; }
echo "deals by domain and currency:"
q "SELECT domain, currency, COUNT(*) FROM deals GROUP BY domain, currency" \
  | tee "$dir/by_domain"
grep -qx '1|USD|[1-9][0-9]*' "$dir/by_domain" || fail "no US deals in dollars"
grep -qx '2|GBP|[1-9][0-9]*' "$dir/by_domain" || fail "no UK deals in pounds"
(($(wc -l <"$dir/by_domain") == 2)) || fail "a deal in a third locale/currency"
echo "watermarks by scope:"
q "SELECT scope, key, value FROM system_state WHERE key LIKE 'watermark.%'
   ORDER BY scope, key" | tee "$dir/marks"
grep -q '^us|watermark.last_update|[1-9]' "$dir/marks" || fail "no us watermark"
grep -q '^uk|watermark.last_update|[1-9]' "$dir/marks" || fail "no uk watermark"
(($(wc -l <"$dir/marks") == 4)) || fail "watermarks of other scopes"
# Each scope's watermark is a position of its own locale's feed: its ASIN
# is one of that locale's stored deals, rejections or pending positions.
for pair in us:1 uk:2; do
  scope=${pair%:*} domain=${pair#*:}
  asin=$(q "SELECT value FROM system_state WHERE scope = '$scope'
            AND key = 'watermark.asin'")
  found=$(q "SELECT (SELECT COUNT(*) FROM deals WHERE domain = $domain AND asin = '$asin')
           + (SELECT COUNT(*) FROM rejections WHERE domain = $domain AND asin = '$asin')")
  ((found > 0)) || fail "scope $scope's watermark $asin is no domain $domain position"
done
q "SELECT COUNT(*) FROM pending WHERE (scope = 'us') <> (domain = 1)" \
  | grep -qx 0 || fail "pending positions of one scope in another's domain"
grep -h 'stored deals' "$dir/us.out" "$dir/uk.out"
! grep -q "$key" "$dir/token" || fail "the key in keepa-token's output"
echo "PASSED"
