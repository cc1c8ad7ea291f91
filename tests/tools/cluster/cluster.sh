#!/usr/bin/env bash
# One key, several pipelines, real processes on loopback (issue 22, label
# cluster): one keepa-sim with one key, one keepa-token, three
# keepa-pipeline processes spending from it and storing into one
# PostgreSQL started here as an unprivileged user.
#
#   steady    test 1: about two refill minutes in which all three compete
#   failover  test 2: as steady, with a pipeline killed (-9) 1.5 s after
#             the first tick and restarted, and keepa-token killed (-9)
#             just before the second and restarted 3 s later; one more
#             refill minute after that
#
# The plan is the limit, not the feed: the simulator starts at a balance of
# 0 and refills R once a minute; each pipeline's feed (its own query, two
# locales, 6000 updates a minute each) holds thousands of candidates and
# its UPDATER refreshes stored deals every 5 s, so every pipeline has work
# at every tick.
#
# The figures come from keepa-sim's own counters (/sim/stats: what it
# charged, refilled and refused, its lowest balance; /sim/served: the deals
# /deal served), keepa-token's status lines and PostgreSQL. Passes when:
#   - the balance keepa-sim saw never went below the profile's floor (-180);
#   - keepa-sim answered no 429 (TOKEN grants nothing before its first
#     observation, so "after the first observation" is the whole run);
#   - charged >= 99 % of the tokens generated (initial + refilled), taken
#     just before a refill tick, and nothing was lost at the cap;
#   - each pipeline's part of the tokens consumed while all three had work
#     (steady: both minutes; failover: the minute after the one of
#     keepa-token's restart) is within 5 points of its weight's part;
#   - no (domain, asin) is stored twice;
#   - every good deal keepa-sim served is accounted for: stored, rejected,
#     pending, updated since it was served, or beyond its pipeline's
#     watermark (the next start reads it again);
#   - (failover) the dead pipeline's grants are released within 5 s of its
#     kill, the clients spend nothing while keepa-token is down (after the
#     requests in flight), and spend again within 15 s of its restart.
# Prints those figures. Every process started here is stopped at the end,
# also on failure.
#
# usage: cluster.sh KEEPA_SIM KEEPA_TOKEN KEEPA_PIPELINE MODE
set -euo pipefail

sim=$1
token=$2
pipeline=$3
mode=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../keepa-pipeline/free_port.sh"
source "$here/processes.sh"
source "$here/figures.sh"
begin_run
trap stop_everything EXIT

# The plan: R tokens a minute, shared by three pipelines.
rate=${CLUSTER_RATE:-6000}
floor=-180

start_pg "$dir/pg"
start_sim "$sim" --sim.refill-rate="$rate" --sim.initial-tokens=0 \
  --sim.products=20000 --sim.update-rate=6000 --sim.peek-fraction=0.4 \
  --sim.good-fraction=0.2 --sim.latency-ms=20

token_port=$(free_port)
start_token
remote=127.0.0.1:$token_port

# All three store into the one database (a storage scope each); each
# spends with its weight and works its own locale. Without the peek's value
# gate: it holds candidates back while the shared balance is low, and here
# every candidate is work that competes.
cat >"$dir/pipeline.conf" <<EOF
[keepa.peek]
value-gate = false
EOF
pipeline_options=(--keepa.profile=auto --config-file="$dir/pipeline.conf")
pipeline_conn() {
  echo "$pg_conn connect_timeout=5"
}
options_of() {
  echo "--keepa.locale=${locale[$1]} --keepa.token.weight=${weight[$1]}" \
    "--keepa.storage.scope=$1"
}

# The three pipelines: name, locale, weight, query (price bands of the
# used price, in cents, so the two amazon.com queries do not overlap).
names=(us-low us-high uk)
declare -A locale=([us-low]=us [us-high]=us [uk]=uk)
declare -A weight=([us-low]=1 [us-high]=2 [uk]=3)
declare -A domain=([us]=1 [uk]=2)
declare -A range=([us-low]=0,2500 [us-high]=2501,100000 [uk]=0,100000)
for n in "${names[@]}"; do
  write_query "$n" "${domain[${locale[$n]}]}" "${range[$n]}"
  start_pipeline "$n"
done
for n in "${names[@]}"; do
  wait_until 60 connected "$n" \
    || fail "$n did not reach keepa-token: $(tail -n 3 "$dir/$n.err")"
done
# The window's first share figures need all three among keepa-token's
# shares: a process is listed from its first request, which may come after
# its link is up (CI once took the window's start before one was listed).
for n in "${names[@]}"; do
  wait_until 60 token_lists "$n" \
    || fail "keepa-token does not list $n: $(tail -n 3 "$dir/$n.err")"
done
echo "all three pipelines connected to keepa-token on $remote"

# The window in which all three compete starts just before the first
# refill tick after all connected (the balance is 0 until then).
wait_before_tick
read_sim_stats start
token_shares start
echo "window starts at tick $(stat_of start ticks):" \
  "balance $(stat_of start balance), charged $(stat_of start charged)"

if [[ $mode == failover ]]; then
  failover_pipeline us-high
  failover_server
  # The restarted keepa-token counts shares afresh. The tick of its
  # restart goes to whoever has work first (us-high, restarted a minute
  # before, scans its feed again): the shares are taken over the next
  # tick, in which all three run and have work again.
  wait_before_tick
  token_shares start
  wait_before_tick
else
  wait_before_tick
  wait_before_tick
fi
read_sim_stats end
token_shares end
# Where each pipeline's scanner stands (its next start reads the feed again
# from there), then a graceful stop of all three.
: >"$dir/watermarks.csv"
for n in "${names[@]}"; do
  wm=$(field "$n" .storage.watermark.last_update)
  [[ -n $wm ]] || fail "no watermark from $n"
  echo "${domain[${locale[$n]}]},$wm" >>"$dir/watermarks.csv"
done
for n in "${names[@]}"; do
  stop_pipeline "$n"
done
report_and_check
echo "PASSED ($mode)"
