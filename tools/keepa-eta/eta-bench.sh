#!/usr/bin/env bash
# keepa-eta's wall time, CPU time and peak RSS for a large catalogue, and
# the same as a ratio against a small one measured in the same run (the
# machine is shared: the ratio is steadier than the absolute figures).
# The runs go one after the other, so they do not compete for the cores.
#
# usage: tools/keepa-eta/eta-bench.sh [BUILD_DIR [BASE_BOOKS [BOOKS [DEALS]]]]
#        defaults: build 40000 400000 10000; BASE_BOOKS 0 measures only BOOKS
#        (the 400 000-book figure alone:
#        bash tools/keepa-eta/eta-bench.sh build 0)
# Goals (issue 17): 400 000 books under 2 GB peak RSS and 30 s on 2 cores.
set -euo pipefail

build=${1:-build}
base=${2:-40000}
books=${3:-400000}
deals=${4:-10000}
eta="$build/tools/keepa-eta/keepa-eta"
[[ -x $eta ]] || { echo "eta-bench: $eta not built" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "eta-bench: needs /usr/bin/time (tools/setup.sh)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs keepa-eta for $1 books; prints "wall_s cpu_s peak_kb".
measure() {
  local out="$tmp/eta-$1"
  local rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$out.time" \
    "$eta" --eta.deals="$deals" --eta.products="$1" >"$out.out" 2>"$out.err" || rc=$?
  # 1 = the target was not reached, which is a result, not a failure.
  if (( rc > 1 )); then
    echo "eta-bench: keepa-eta --eta.products=$1 failed ($rc):" >&2
    cat "$out.err" >&2
    exit 1
  fi
  # The last line: GNU time puts "Command exited with non-zero status" first.
  tail -n 1 "$out.time" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
base_wall=0 base_cpu=0 base_kb=0
if (( base > 0 )); then
  read -r base_wall base_cpu base_kb < <(measure "$base")
fi
read -r wall cpu kb < <(measure "$books")
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v b="$base" -v bw="$base_wall" -v bc="$base_cpu" -v bk="$base_kb" \
    -v n="$books" -v w="$wall" -v c="$cpu" -v k="$kb" 'BEGIN {
  printf "%-9s %9s %9s %13s\n", "books", "wall s", "CPU s", "peak RSS MB"
  if (b > 0)
    printf "%-9s %9.1f %9.1f %13.0f\n", b, bw, bc, bk / 1024
  printf "%-9s %9.1f %9.1f %13.0f\n", n, w, c, k / 1024
  if (b > 0)
    printf "%-9s %9.2f %9.2f %13.2f\n", "ratio", w / bw, c / bc, k / bk
  if (n == 400000)
    printf "goals: peak RSS < 2048 MB: %s; wall < 30 s: %s\n",
      k < 2048 * 1024 ? "met" : "not met", w < 30 ? "met" : "not met"
}'
