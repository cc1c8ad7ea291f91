# Sourced by cluster.sh: the figures of a cluster test and their checks,
# from keepa-sim's /sim/stats and /sim/served, keepa-token's status lines
# and PostgreSQL.

# token_shares NAME: keepa-token's newest status line, kept as NAME, and
# what it says each pipeline consumed ("NAME TOKENS" lines in
# $dir/shares.NAME; a pipeline it does not list is left out).
token_shares() {
  local n pid x
  grep 'keepa-token: balance' "$dir/token" | tail -n 1 >"$dir/token.$1"
  : >"$dir/shares.$1"
  for n in "${names[@]}"; do
    pid=${pipeline_pids[$n]:-none}
    x=$(grep -o "#$pid weight [0-9]* consumed [0-9]*" "$dir/token.$1") \
      || continue
    echo "$n ${x##* }" >>"$dir/shares.$1"
  done
}

# Each pipeline's part of what the three consumed between the samples
# start and end, against its weight's part; fails (adds to `errors`) when
# one is off by more than 5 points. A refill tick brings a minute's tokens
# at once; TOKEN's credits share them by weight among the pipelines asking
# (see token_scheduler.hpp), not to whoever asks fastest.
check_shares() {
  local n c0 c1 total=0 wsum=0 share want diff off=()
  declare -A got=()
  for n in "${names[@]}"; do
    c0=$(awk -v n="$n" '$1 == n { print $2 }' "$dir/shares.start")
    c1=$(awk -v n="$n" '$1 == n { print $2 }' "$dir/shares.end")
    if [[ -z $c0 || -z $c1 ]]; then
      errors+=("keepa-token reports no share of $n")
      return
    fi
    got[$n]=$((c1 - c0))
    total=$((total + c1 - c0))
    wsum=$((wsum + weight[$n]))
  done
  ((total > 0)) || {
    errors+=("nothing consumed in the window")
    return
  }
  echo "  shares while all three had work ($total tokens consumed):"
  for n in "${names[@]}"; do
    read -r share want diff < <(awk -v c="${got[$n]}" -v t="$total" \
      -v w="${weight[$n]}" -v s="$wsum" 'BEGIN {
        printf "%.1f %.1f %+.1f\n", 100 * c / t, 100 * w / s,
          100 * c / t - 100 * w / s }')
    echo "    $n (${locale[$n]}): weight ${weight[$n]} = $want %," \
      "consumed ${got[$n]} = $share % ($diff points)"
    awk -v d="$diff" 'BEGIN { exit !(d <= 5 && d >= -5) }' \
      || off+=("$n's share $share % is not within 5 points of $want %")
  done
  errors+=("${off[@]}")
}

# The good deals keepa-sim served of every locale as CSV rows (domain,
# asin, last_update, unchanged) in $dir/served.csv.
served_good_deals() {
  local d
  : >"$dir/served.csv"
  for d in "$@"; do
    curl -sf --max-time 30 \
      "http://127.0.0.1:$port/sim/served?key=$key&domain=$d" \
      | jq -r --argjson d "$d" \
        '.deals[] | select(.good)
         | [$d, .asin, .last_update, .unchanged] | @csv' \
        >>"$dir/served.csv" || fail "no /sim/served for domain $d"
  done
}

# Prints the figures and checks them; fails the test on the first broken
# check after printing everything.
report_and_check() {
  local errors=() generated charged refused min lost util
  generated=$(($(stat_of end initial) + $(stat_of end refilled)))
  charged=$(stat_of end charged)
  refused=$(stat_of end refused)
  min=$(stat_of end min_balance)
  lost=$(stat_of end lost_at_cap)
  util=$(awk -v c="$charged" -v g="$generated" \
    'BEGIN { printf "%.2f", (g > 0 ? 100 * c / g : 0) }')
  echo "figures ($mode), R = $rate tokens/min, $(stat_of end ticks) refill" \
    "ticks, just before a tick:"
  echo "  keepa-sim: generated $generated (initial $(stat_of end initial)" \
    "+ refilled $(stat_of end refilled)), charged $charged," \
    "utilisation $util %, lost at the cap $lost, balance $(stat_of end balance)"
  echo "  keepa-sim: lowest balance $min (floor $floor)," \
    "429 answers $refused"
  echo "  keepa-sim: charged per locale (domain: tokens)" \
    "$(jq -c .charged_by_domain "$dir/sim.end.json")"
  ((min >= floor)) \
    || errors+=("the balance fell to $min, below the floor $floor")
  ((refused == 0)) || errors+=("keepa-sim answered $refused 429s")
  ((lost == 0)) || errors+=("$lost tokens lost at the cap")
  awk -v c="$charged" -v g="$generated" 'BEGIN { exit !(c >= 0.99 * g) }' \
    || errors+=("utilisation $util % < 99 %")
  echo "  keepa-token: $(cut -d' ' -f2- "$dir/token.end")"
  check_shares
  [[ $mode != failover ]] || check_recovery

  # Deals per locale, and none stored twice.
  echo "  PostgreSQL: deals per locale (domain|deals):" \
    "$(psql_value 'SELECT domain, count(*) FROM deals GROUP BY domain
                   ORDER BY domain' | tr '\n' ' ')"
  local twice
  twice=$(psql_value 'SELECT count(*) FROM (SELECT domain, asin FROM deals
    GROUP BY domain, asin HAVING count(*) > 1) x')
  echo "  PostgreSQL: (domain, asin) stored more than once: $twice"
  ((twice == 0)) || errors+=("$twice deals stored twice")

  # Every good deal keepa-sim served: where it went.
  served_good_deals 1 2
  local rows
  rows=$(psql "$pg_conn" -XAtq -v ON_ERROR_STOP=1 <<EOF
    CREATE TEMP TABLE served (domain INTEGER, asin TEXT, last_update BIGINT,
                              unchanged BOOLEAN);
    CREATE TEMP TABLE marks (domain INTEGER, last_update BIGINT);
    \copy served FROM '$dir/served.csv' CSV
    \copy marks FROM '$dir/watermarks.csv' CSV
    SELECT s.domain, count(*),
      count(*) FILTER (WHERE d.asin IS NOT NULL),
      count(*) FILTER (WHERE d.asin IS NULL AND r.asin IS NOT NULL),
      count(*) FILTER (WHERE d.asin IS NULL AND r.asin IS NULL AND p),
      count(*) FILTER (WHERE d.asin IS NULL AND r.asin IS NULL AND NOT p
                         AND NOT s.unchanged),
      count(*) FILTER (WHERE d.asin IS NULL AND r.asin IS NULL AND NOT p
                         AND s.unchanged AND s.last_update >= m),
      count(*) FILTER (WHERE d.asin IS NULL AND r.asin IS NULL AND NOT p
                         AND s.unchanged AND s.last_update < m)
    FROM (SELECT served.*,
            EXISTS (SELECT 1 FROM pending x WHERE x.domain = served.domain
                    AND x.asin = served.asin) AS p,
            (SELECT min(last_update) FROM marks
             WHERE marks.domain = served.domain) AS m
          FROM served) s
    LEFT JOIN deals d ON d.domain = s.domain AND d.asin = s.asin
    LEFT JOIN rejections r ON r.domain = s.domain AND r.asin = s.asin
    GROUP BY s.domain ORDER BY s.domain;
EOF
  ) || fail "the served deals could not be compared with the database"
  local dom total stored rejected pending changed beyond missed
  while IFS='|' read -r dom total stored rejected pending changed beyond \
    missed; do
    echo "  good deals keepa-sim served, domain $dom: $total; stored" \
      "$stored, rejected $rejected, pending $pending, updated since" \
      "$changed, beyond the watermark $beyond, unaccounted $missed"
    ((missed == 0)) || errors+=("$missed good deals of domain $dom unaccounted")
  done <<<"$rows"
  [[ -n $rows ]] || errors+=("keepa-sim served no good deal")

  if ((${#errors[@]} > 0)); then
    local e
    for e in "${errors[@]}"; do
      echo "FAILED ($mode): $e" >&2
    done
    exit 1
  fi
}

# Waits until at least $1 ms have passed since the last refill tick (so the
# pipelines are spending what it brought).
wait_after_tick() {
  wait_until 75 after_tick "$1" || fail "no refill tick within 75 s"
}
after_tick() {
  local s ticks left
  s=$(curl -sf --max-time 5 "http://127.0.0.1:$port/sim/stats?key=$key") \
    || return 1
  read -r ticks left < <(jq -r '"\(.ticks) \(.refill_in_ms)"' <<<"$s")
  ((ticks > ticks_seen && left <= 60000 - $1))
}

charged_now() {
  curl -sf --max-time 5 "http://127.0.0.1:$port/sim/stats?key=$key" \
    | jq -r .charged
}

# The PIDs keepa-token's newest status line names as consumers (the relay
# of each connected pipeline, "ID@HOST-HASH#PID").
token_consumer_pids() {
  grep 'keepa-token: balance' "$dir/token" | tail -n 1 \
    | grep -o '#[0-9]* weight' | tr -d '# weight' || true
}

# token_lists NAME: keepa-token's newest status line lists pipeline NAME
# (its process counts among the shares from its first request on, which
# may come a while after its /status shows the link up).
token_lists() {
  token_consumer_pids | grep -qx "${pipeline_pids[$1]:-none}"
}

# Slowest /status answer of pipeline $1 (it asks keepa-token's snapshot
# through its link) in ms, over $2 answers.
slowest_status() {
  local worst=0 t0 t1 i
  for ((i = 0; i < $2; ++i)); do
    t0=$(now_ms)
    status "$1" >/dev/null
    t1=$(now_ms)
    ((t1 - t0 > worst)) && worst=$((t1 - t0))
    sleep 0.1
  done
  echo "$worst"
}

# Test 2, the pipeline: kill -9 of pipeline $1 while the pipelines spend a
# refill; how long until keepa-token forgets it (its grants end with its
# connection), how the others' /status (keepa-token's snapshot through
# their link) answered meanwhile; then it starts again on its own state.
failover_pipeline() {
  local victim=$1 pid t_kill t_gone other
  wait_after_tick 1500
  pid=${pipeline_pids[$victim]}
  token_lists "$victim" || fail "keepa-token does not list $victim (pid $pid)"
  t_kill=$(now_ms)
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  unset "pipeline_pids[$victim]"
  wait_until 10 bash -c "! grep 'keepa-token: balance' '$dir/token' \
    | tail -n 1 | grep -q '#$pid weight'" \
    || fail "keepa-token still lists $victim 10 s after its kill -9"
  t_gone=$(now_ms)
  release_ms=$((t_gone - t_kill))
  echo "kill -9 $victim: keepa-token ended its grants and forgot it" \
    "${release_ms} ms after the kill (status lines every 200 ms)"
  for other in "${names[@]}"; do
    [[ $other == "$victim" ]] && continue
    echo "  $other's slowest /status over 2 s after it:" \
      "$(slowest_status "$other" 20) ms"
  done
  start_pipeline "$victim"
  wait_until 60 connected "$victim" \
    || fail "$victim did not come back: $(tail -n 3 "$dir/$victim.err")"
  echo "  $victim restarted and spends from keepa-token again" \
    "$(($(now_ms) - t_kill)) ms after the kill"
}

# Test 2, the budget server: kill -9 of keepa-token just before a refill
# tick, so the pipelines want to spend its tokens while it is away; nothing
# may be charged meanwhile (after the requests in flight). Restarted on the
# same port 3 s later: how long until the pipelines spend again.
failover_server() {
  local t_kill c_quiet c_back t_start t_spend n
  wait_before_tick
  t_kill=$(now_ms)
  kill -KILL "$token_pid"
  wait "$token_pid" 2>/dev/null || true
  token_pid=
  # Requests granted before the kill may still be answered.
  sleep 1
  c_quiet=$(charged_now)
  sleep 2
  c_back=$(charged_now)
  outage_charged=$((c_back - c_quiet))
  echo "kill -9 keepa-token just before a refill tick: keepa-sim charged" \
    "$outage_charged tokens from 1 s to 3 s after the kill"
  t_start=$(now_ms)
  start_token
  wait_until 30 spending_since "$c_back" \
    || fail "the pipelines did not spend within 30 s of keepa-token's restart"
  t_spend=$(now_ms)
  resume_ms=$((t_spend - t_start))
  echo "  keepa-token restarted; keepa-sim charged again ${resume_ms} ms" \
    "after the restart ($((t_spend - t_kill)) ms after the kill)"
  for n in "${names[@]}"; do
    wait_until 30 connected "$n" \
      || fail "$n did not reconnect: $(tail -n 3 "$dir/$n.err")"
    wait_until 30 token_lists "$n" \
      || fail "keepa-token does not list $n 30 s after its restart"
  done
}
spending_since() {
  local c
  c=$(charged_now) || return 1
  ((c > $1))
}

# The checks of test 2 (failover): grants of the dead pipeline ended within
# 5 s, nothing spent while keepa-token was away, spending again within 15 s
# of its restart.
check_recovery() {
  echo "  recovery: a dead pipeline's grants ended ${release_ms} ms after" \
    "its kill -9; keepa-sim charged $outage_charged tokens while" \
    "keepa-token was away; spending again ${resume_ms} ms after its restart"
  ((release_ms <= 5000)) \
    || errors+=("the dead pipeline's grants ended only after $release_ms ms")
  ((outage_charged == 0)) \
    || errors+=("$outage_charged tokens charged while keepa-token was away")
  ((resume_ms <= 15000)) \
    || errors+=("spending resumed only $resume_ms ms after the restart")
}
