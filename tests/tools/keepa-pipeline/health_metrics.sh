#!/usr/bin/env bash
# Issue 19: health and metrics of a real keepa-pipeline over loopback.
#  1. Against keepa-sim: /healthz and /readyz answer 200 with JSON once Keepa
#     answered, a live /metrics scrape passes `promtool check metrics` and
#     holds the documented families; without the token all answer 401.
#  2. Against an endpoint where nothing listens: /readyz answers 503 and
#     says it cannot connect; /metrics counts the failed transfers with
#     code "none".
#  3. `promtool check rules` on config/prometheus/keepa-alerts.yml.
# promtool comes with Debian's prometheus package (tools/setup.sh): a
# missing promtool fails the test. Every wait is bounded; everything
# started is stopped.
#
# usage: health_metrics.sh KEEPA_SIM KEEPA_PIPELINE SOURCE_DIR
set -euo pipefail

sim=$1
pipeline=$2
src=$3
dir=$(mktemp -d)
fail() { echo "FAILED: $*" >&2; exit 1; }
command -v promtool >/dev/null \
  || fail "promtool not found (Debian package prometheus; tools/setup.sh)"
key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key

source "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
source "$(dirname "${BASH_SOURCE[0]}")/free_port.sh"

# start_pipeline ENDPOINT NAME: keepa-pipeline on a free HTTP port; sets
# pipeline_pid, http_port and token.
start_pipeline() {
  http_port=$(free_port)
  "$pipeline" --keepa.client.endpoint="$1" \
              --keepa.storage.url="sqlite:$dir/$2.db" \
              --keepa.status-every=1s --keepa.introspection.port=0 \
              --keepa.http.port="$http_port" \
              --keepa.http.token-file="$dir/$2.token" \
              >"$dir/$2.out" 2>"$dir/$2.err" &
  pipeline_pid=$!
  timeout 20 bash -c "until grep -q ' info keepa-pipeline: http on' '$dir/$2.err'; do
                        sleep 0.1; done" \
    || fail "keepa-pipeline did not start: $(cat "$dir/$2.err")"
  token=$(cat "$dir/$2.token")
}

# get PATH [OUT]: the status code of GET PATH with the token; body to OUT.
get() {
  curl -s -o "${2:-/dev/null}" -w '%{http_code}' -m 10 \
       -H "Authorization: Bearer $token" "http://127.0.0.1:$http_port$1"
}

# await PATH CODE SECONDS: until GET PATH answers CODE (body in $dir/body).
await() {
  local deadline=$((SECONDS + $3))
  until [[ $(get "$1" "$dir/body") == "$2" ]]; do
    ((SECONDS < deadline)) \
      || fail "$1 did not answer $2 within $3 s: $(cat "$dir/body")"
    sleep 0.2
  done
}

# -- 1. a healthy run ----------------------------------------------------------

start_sim "$sim" --sim.refill-rate=3000 --sim.products=2000 \
          --sim.update-rate=300
start_pipeline "http://127.0.0.1:$port" good
await /healthz 200 20
jq -e '.status == "ok" and .checks.token.ok' "$dir/body" >/dev/null \
  || fail "/healthz: $(cat "$dir/body")"
await /readyz 200 30
jq -e '.status == "ok" and .checks.balance.ok and .checks.storage.ok
       and .checks.keepa.ok' "$dir/body" >/dev/null \
  || fail "/readyz: $(cat "$dir/body")"
echo "readyz: $(cat "$dir/body")"
# A scrape once deals were committed, so the stage counters moved.
deadline=$((SECONDS + 60))
until [[ $(get /metrics "$dir/metrics") == 200 ]] \
      && grep -q '^keepa_deals_total{outcome="committed"} [1-9]' "$dir/metrics"; do
  ((SECONDS < deadline)) || fail "no committed deal in 60 s"
  sleep 0.5
done
promtool check metrics <"$dir/metrics" \
  || fail "promtool check metrics: $(promtool check metrics <"$dir/metrics" 2>&1)"
echo "promtool check metrics: passed ($(wc -l <"$dir/metrics") lines)"
for family in keepa_build_info process_cpu_seconds_total \
    process_resident_memory_bytes process_virtual_memory_bytes \
    process_start_time_seconds process_open_fds process_max_fds \
    keepa_token_balance keepa_token_floor \
    keepa_token_refill_rate_tokens_per_minute \
    keepa_token_observation_age_seconds keepa_tokens_consumed_total \
    keepa_requests_total keepa_request_duration_seconds \
    keepa_auth_failures_total keepa_last_success_timestamp_seconds \
    keepa_watermark_timestamp_seconds keepa_storage_writable \
    keepa_deals_total keepa_errors_total keepa_actor_up; do
  grep -q "^# TYPE $family " "$dir/metrics" || fail "no family $family"
done
grep -q '^keepa_requests_total{code="200",endpoint="/deal"} [1-9]' \
  "$dir/metrics" || fail "no successful /deal requests counted"
grep -q '^keepa_request_duration_seconds_bucket{endpoint="/product",le="+Inf"} [1-9]' \
  "$dir/metrics" || fail "no /product latency observed"
grep -q '^keepa_tokens_consumed_total{actor="committer"} [1-9]' \
  "$dir/metrics" || fail "no tokens consumed by the committer"
now=$(date +%s)
awk -v now="$now" '/^keepa_last_success_timestamp_seconds /{
       if ($2 < now - 60 || $2 > now + 5) exit 1; found = 1 }
     END { exit !found }' "$dir/metrics" \
  || fail "keepa_last_success_timestamp_seconds is not recent"
awk -v now="$now" '/^keepa_watermark_timestamp_seconds /{
       if ($2 < now - 13 * 3600 || $2 > now + 600) exit 1; found = 1 }
     END { exit !found }' "$dir/metrics" \
  || fail "keepa_watermark_timestamp_seconds is not a recent Unix time"
grep -q "^keepa_build_info{commit=\".*\",version=\"[0-9.]*\"} 1" "$dir/metrics" \
  || fail "keepa_build_info has no version"
! grep -q -- "$key" "$dir/metrics" || fail "the key is in /metrics"
for path in /healthz /readyz /metrics; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 \
              "http://127.0.0.1:$http_port$path")
  [[ $code == 401 ]] || fail "$path without the token: $code"
done
stop_pipeline 15
((rc == 0)) || fail "keepa-pipeline exited $rc"

# -- 2. nothing listens at the endpoint ----------------------------------------

dead=$(free_port)
start_pipeline "http://127.0.0.1:$dead" unreachable
await /readyz 503 20
deadline=$((SECONDS + 20))
until jq -e '.checks.keepa.detail | test("cannot connect|onnect")' \
        "$dir/body" >/dev/null; do
  ((SECONDS < deadline)) || fail "/readyz does not say why: $(cat "$dir/body")"
  sleep 0.2
  get /readyz "$dir/body" >/dev/null
done
jq -e '.status == "not ready" and (.checks.keepa.ok | not)
       and (.checks.balance.ok | not)' "$dir/body" >/dev/null \
  || fail "/readyz: $(cat "$dir/body")"
echo "readyz (unreachable): $(cat "$dir/body")"
await /healthz 200 10
[[ $(get /metrics "$dir/metrics") == 200 ]] || fail "/metrics"
grep -q '^keepa_requests_total{code="none",endpoint="/token"} [1-9]' \
  "$dir/metrics" || fail "the failed transfers are not counted"
grep -q '^keepa_last_success_timestamp_seconds 0$' "$dir/metrics" \
  || fail "a success was reported: $(grep last_success "$dir/metrics")"
promtool check metrics <"$dir/metrics" || fail "promtool check metrics"
stop_pipeline 15
((rc == 0)) || fail "keepa-pipeline exited $rc"

# -- 3. the example alert rules ------------------------------------------------

promtool check rules "$src/config/prometheus/keepa-alerts.yml" \
  || fail "promtool check rules"
echo "PASSED"
