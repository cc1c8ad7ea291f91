#!/usr/bin/env bash
# Storage outages with real processes (issue 16, item 1): keepa-sim and
# keepa-pipeline over loopback, the database taken away mid-run.
#
#   sqlite-lock  another connection holds the SQLite write lock
#                (BEGIN EXCLUSIVE) for LOCK_SECONDS (default 20) s
#   pg-restart   a real PostgreSQL, started here as an unprivileged user,
#                restarts (pg_ctl -m fast restart)
#   permanent    the schema breaks under the running pipeline (the
#                rejections and deals tables are dropped: the peeks of
#                the first pass may all be stored before the drop gets
#                the lock on a loaded machine, and the feed may have run
#                dry, but the UPDATER reads the stalest deals every second
#                and a read's permanent error ends STORAGE as a write's)
#
# A transient outage passes when STORAGE reports it and its end, TOKEN
# grants nothing while held, no storage error reaches a stage, deals are
# stored after the outage, and keepa-pipeline exits 0 on SIGTERM. A
# permanent error passes when keepa-pipeline stops by itself, non-zero,
# naming the error. Prints the tokens consumed and granted meanwhile.
#
# usage: storage_outage.sh KEEPA_SIM KEEPA_PIPELINE MODE
set -euo pipefail

sim=$1
pipeline=$2
mode=$3
lock_seconds=${LOCK_SECONDS:-20}
dir=$(mktemp -d)
chmod 755 "$dir"
fail() { echo "FAILED ($mode): $*" >&2; exit 1; }
key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key

pids=()
pipeline_pid=
source "$(dirname "${BASH_SOURCE[0]}")/free_port.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
cleanup() {
  [[ -n $pipeline_pid ]] && kill -KILL "$pipeline_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_pg
  [[ -n ${KEEP_DIR:-} ]] && echo "kept $dir" >&2 || rm -rf "$dir"
}
trap cleanup EXIT

coproc SIM { exec "$sim" --sim.port=0 --sim.refill-rate=3000 \
                         --sim.products=40000 --sim.latency-ms=20; }
pids+=("$SIM_PID")
read -r -t 30 line <&"${SIM[0]}" || fail "keepa-sim did not start"
sim_port=${line##*:}

url="sqlite:$dir/deals.db"
if [[ $mode == pg-restart ]]; then
  start_pg "$dir/pg"
  url="postgresql:$pg_conn connect_timeout=5"
fi

http=$(free_port)
# One busy-timeout of 1 s before STORAGE reports a locked database. The
# first pass finds about 6000 candidates (peeks for several seconds); then
# the UPDATER refreshes every stored deal every few seconds.
"$pipeline" --keepa.client.endpoint="http://127.0.0.1:$sim_port" \
            --keepa.storage.url="$url" \
            --keepa.storage.busy-timeout=1s --keepa.storage.lock-retries=0 \
            --keepa.scan.interval=2s --keepa.status-every=1s \
            --keepa.update.interval=1s --keepa.update.refresh-after=2s \
            --keepa.http.port="$http" --keepa.http.token-file="$dir/token" \
            --keepa.introspection.port=0 \
            >"$dir/out" 2>"$dir/err" &
pipeline_pid=$!

# During an outage /status takes about 2 s: STORAGE's counts wait in its
# mailbox until the introspection's ask times out.
# The per-run token is in the 0600 file keepa-pipeline wrote at start.
status() {
  local token
  token=$(cat "$dir/token" 2>/dev/null) || return 0
  curl -s --max-time 5 -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$http/status"
}
# One field of /status (jq path), or empty.
field() {
  status | jq -r "$1 // empty" 2>/dev/null || true
}
# TOKEN's "consumed granted outstanding" (tried again while /status fails).
token_counters() {
  local x
  for _ in 1 2 3 4 5; do
    x=$(field '"\(.token.totals.consumed) \(.token.totals.granted)'\
' \(.token.outstanding)"')
    if [[ -n $x ]]; then
      echo "$x"
      return
    fi
  done
  fail "no /status answer"
}
deals_stored() {
  local n
  n=$(field .storage.deals)
  ((${n:-0} > ${1:-0}))
}
running() {
  kill -0 "$pipeline_pid" 2>/dev/null
}

# The outage starts once the SCANNER handed on its first pass: thousands of
# candidates wait for peeks, each peek batch to be stored.
handed_on() {
  local n
  n=$(field .deals.scanned)
  ((${n:-0} > 0))
}
wait_until 40 handed_on \
  || fail "nothing scanned within 40 s: $(tail -5 "$dir/err")"
before_deals=$(field .storage.deals)
before_batches=$(field .actors.storage.batches)
read -r c0 g0 _ <<<"$(token_counters)"
echo "running: $before_deals deals stored, $c0 tokens consumed"

if [[ $mode == permanent ]]; then
  sqlite3 -cmd ".timeout 10000" "$dir/deals.db" \
    "DROP TABLE rejections; DROP TABLE deals" \
    || fail "cannot drop the rejections and deals tables"
  echo "rejections and deals tables dropped"
  if ! wait_until 30 bash -c "! kill -0 $pipeline_pid 2>/dev/null"; then
    fail "keepa-pipeline still runs 30 s after its schema broke:" \
      "$(tail -5 "$dir/err")"
  fi
  code=0
  wait "$pipeline_pid" || code=$?
  pipeline_pid=
  tail -5 "$dir/err"
  ((code != 0)) || fail "exit code 0 after a permanent storage error"
  grep -q "stopping (storage ended: storage_error" "$dir/err" \
    || fail "no shutdown naming the storage error"
  grep -qE "no such table: (rejections|deals)" "$dir/err" \
    || fail "the message does not name the missing table"
  echo "PASSED ($mode): exit code $code," \
    "$(grep -m1 'keepa-pipeline: failed:' "$dir/err")"
  exit 0
fi

# The outage. Meanwhile /status is sampled: TOKEN's mode is "held" while
# STORAGE cannot write; the tokens granted between the first and the last
# held sample must not grow.
held_samples=0
gh0=
gh1=
sample() {
  local s m g
  s=$(status) || return 0
  m=$(jq -r '.token.mode // empty' <<<"$s" 2>/dev/null) || return 0
  g=$(jq -r '.token.totals.granted // empty' <<<"$s" 2>/dev/null) || return 0
  [[ $m == held && -n $g ]] || return 0
  held_samples=$((held_samples + 1))
  [[ -n $gh0 ]] || gh0=$g
  gh1=$g
}

outage_start=$(date +%s%N)
if [[ $mode == sqlite-lock ]]; then
  coproc LOCK { exec sqlite3 "$dir/deals.db"; }
  pids+=("$LOCK_PID")
  printf '.timeout 10000\nBEGIN EXCLUSIVE;\nSELECT '"'"'locked'"'"';\n' \
    >&"${LOCK[1]}"
  read -r -t 15 line <&"${LOCK[0]}" || fail "cannot lock the database"
  [[ $line == locked ]] || fail "sqlite3 said: $line"
  echo "database locked for $lock_seconds s"
  read -r c0 g0 out0 <<<"$(token_counters)"
  echo "at the lock: $out0 tokens granted and not yet settled"
  end=$(($(date +%s) + lock_seconds))
  while (($(date +%s) < end)); do
    sample
  done
  read -r c1 g1 _ <<<"$(token_counters)"
  printf 'COMMIT;\n.quit\n' >&"${LOCK[1]}"
  wait "$LOCK_PID" 2>/dev/null || true
elif [[ $mode == pg-restart ]]; then
  as_pg "$pg_ctl" restart -D "$pg_data" -m fast -w -t 30 -l "$pg_log" \
    -o "$pg_opts" >/dev/null || fail "pg_ctl restart: $(cat "$pg_log")"
  echo "PostgreSQL restarted"
  # STORAGE sees the lost connection at its next statement.
  end=$(($(date +%s) + 5))
  while (($(date +%s) < end)); do
    sample
    sleep 0.1
  done
  read -r c1 g1 _ <<<"$(token_counters)"
else
  fail "unknown mode $mode"
fi
outage_ms=$((($(date +%s%N) - outage_start) / 1000000))
echo "outage of ${outage_ms} ms: tokens consumed $((c1 - c0)), granted" \
  "$((g1 - g0)); $held_samples samples while TOKEN held" \
  "(granted meanwhile: $((${gh1:-0} - ${gh0:-0})))"

# Resumed: TOKEN grants again and more batches are stored than before.
resumed() {
  local n
  n=$(field .actors.storage.batches)
  [[ $(field .token.mode) != held ]] && ((${n:-0} > before_batches + 10))
}
running || fail "keepa-pipeline ended during the outage: $(tail -5 "$dir/err")"
wait_until 40 resumed || fail "no batch stored within 40 s after the outage;" \
  "$(grep -cE ": .*(storage_|request_receiver_down)" "$dir/err") storage" \
  "errors logged by stages: $(grep -m2 -E ": .*(storage_|receiver_down)" \
  "$dir/err")"
outages=$(field .actors.storage.outages)
final_deals=$(field .storage.deals)
final_batches=$(field .actors.storage.batches)
kill -TERM "$pipeline_pid"
timeout 15 tail --pid="$pipeline_pid" -f /dev/null \
  || fail "keepa-pipeline still running 15 s after SIGTERM"
code=0
wait "$pipeline_pid" || code=$?
pipeline_pid=
grep -E " storage: |stopping|failed" "$dir/err" || true
echo "deals stored: $before_deals before, $final_deals at the end; batches" \
  "$before_batches before, $final_batches at the end"

((code == 0)) || fail "exit code $code: $(tail -3 "$dir/err")"
((${outages:-0} >= 1)) || fail "STORAGE reported no outage"
grep -q " warning storage: cannot write" "$dir/err" || fail "no outage message"
grep -q " info storage: writes again" "$dir/err" \
  || fail "no end-of-outage message"
if [[ $mode == sqlite-lock ]]; then
  ((held_samples > 0)) || fail "TOKEN was never held during the lock"
fi
((${gh1:-0} == ${gh0:-0})) || fail "TOKEN granted tokens while held"
! grep -E " (scanner|peek-filter|committer|updater): .*(storage|request_receiver_down)" \
  "$dir/err" || fail "a storage error reached a stage"
if [[ $mode == sqlite-lock ]]; then
  integrity=$(sqlite3 "$dir/deals.db" "PRAGMA integrity_check")
  [[ $integrity == ok ]] || fail "integrity_check: $integrity"
fi
! grep -q -- "$key" "$dir/out" "$dir/err" || fail "the key was printed"
echo "PASSED ($mode)"
