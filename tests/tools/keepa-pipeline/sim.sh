# Sourced by the real-process tests: keepa-sim on a free port, and the
# cleanup of what a test started (keepa-pipeline, keepa-sim, $dir).

# Every step runs whatever the one before gave (a pipeline may have ended
# already: a failed kill must not end the trap under set -e, leaving
# keepa-sim to hold the test's output open until CTest's timeout).
cleanup() {
  if [[ -n $pipeline_pid ]]; then kill -KILL "$pipeline_pid" 2>/dev/null || true; fi
  kill "$sim_pid" 2>/dev/null || true
  rm -rf "$dir"
}

# start_sim KEEPA_SIM [OPTION...]: sets sim_pid and port.
start_sim() {
  local sim=$1 line
  shift
  coproc SIM { exec "$sim" --sim.port=0 "$@"; }
  sim_pid=$SIM_PID
  pipeline_pid=
  trap cleanup EXIT
  read -r -t 30 line <&"${SIM[0]}" || fail "keepa-sim did not start"
  port=${line##*:}
}

# stop_pipeline SECONDS: SIGTERM to keepa-pipeline, fails the test when it
# still runs after SECONDS; sets rc to its exit status.
stop_pipeline() {
  kill -TERM "$pipeline_pid"
  timeout "$1" tail --pid="$pipeline_pid" -f /dev/null \
    || fail "keepa-pipeline still running $1 s after SIGTERM"
  rc=0
  wait "$pipeline_pid" || rc=$?
  pipeline_pid=
}
