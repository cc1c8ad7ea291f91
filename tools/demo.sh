#!/usr/bin/env bash
# The embedded default, end to end: keepa-sim on 127.0.0.1 (a free port, a
# high refill rate so progress shows within seconds) and keepa-pipeline
# against it into a SQLite file for SECONDS, then the top deals by ROI and
# the newest (keepa-deals).
#
# usage: tools/demo.sh [BUILD_DIR [SECONDS]]     (defaults: build 60)
set -euo pipefail

build=${1:-build}
seconds=${2:-60}
sim="$build/tools/keepa-sim/keepa-sim"
pipeline="$build/tools/keepa-pipeline/keepa-pipeline"
deals="$build/tools/keepa-deals/keepa-deals"
db="$build/keepa-demo.db"
for exe in "$sim" "$pipeline" "$deals"; do
  [[ -x $exe ]] || { echo "demo: $exe not built (cmake --build $build)" >&2; exit 2; }
done

# The simulator's one key; handed over in the environment, never printed.
key="demo-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key

coproc SIM { exec "$sim" --sim.port=0 --sim.refill-rate=20000 \
                         --sim.products=20000 --sim.update-rate=600 \
                         --sim.seed=7; }
sim_pid=$SIM_PID
trap 'kill "$sim_pid" 2>/dev/null || true' EXIT
read -r -t 30 line <&"${SIM[0]}" || { echo "demo: keepa-sim did not start" >&2; exit 1; }
port=${line##*:}
echo "demo: keepa-sim (20 000 tokens/min, 20 000 books) on 127.0.0.1:$port"

rm -f "$db" "$db-wal" "$db-shm"
echo "demo: keepa-pipeline for ${seconds}s into $db"
"$pipeline" --keepa.client.endpoint="http://127.0.0.1:$port" \
            --keepa.storage.url="sqlite:$db" --keepa.run-for="${seconds}s" \
            --keepa.status-every=5s

echo
echo "Top deals by ROI ($deals --keepa.storage.url=sqlite:$db --limit=10):"
"$deals" --keepa.storage.url="sqlite:$db" --limit=10
echo
echo "The newest ($deals ... --by=newest --limit=5; --csv or --json to export):"
"$deals" --keepa.storage.url="sqlite:$db" --by=newest --limit=5
