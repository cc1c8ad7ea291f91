#!/usr/bin/env bash
# The installed programs run from a copy of the DESTDIR install moved
# outside the source and build trees (issue 19): their defaults point into
# the copy's share/keepa-pipeline, the shipped config file is accepted, and
# the installed keepa-pipeline stores deals from the installed keepa-sim over
# loopback for a few seconds, with a profile only the copy has.
#
# usage: run_installed.sh DESTDIR SOURCE_DIR BUILD_DIR
set -euo pipefail
dest=$1
src=$2
build=$3
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/common.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
root=$dir/root
cp -a "$dest" "$root"
bin=$root/usr/bin
share=$root/usr/share/keepa-pipeline
conf=$root/etc/keepa-pipeline/keepa-pipeline.conf

# The defaults --help states lie in the copy, not in either tree.
for tool in keepa-pipeline keepa-eta; do
  help=$("$bin/$tool" --help) || fail "$tool --help"
  grep -q -F "$share/profiles" <<<"$help" \
    || fail "$tool --help: profiles not from $share: $(grep -F profiles-dir <<<"$help")"
  ! grep -F -e "$src" -e "$build" <<<"$help" || fail "$tool names a tree"
done
grep -q -F "$share/deal_query.json" <<<"$("$bin/keepa-pipeline" --help)" \
  || fail "the deal query is not the copy's"
"$bin/keepa-status" --help >/dev/null || fail "keepa-status --help"

# A profile only the copy has: it is found only in the copy's profiles.
sed 's/^name=.*/name="installed-only"/' "$share/profiles/below-20.ini" \
  >"$share/profiles/installed-only.ini"

# The shipped config file is valid as it is, and the copy's profiles load.
"$bin/keepa-pipeline" --config-file="$conf" --keepa.profile=installed-only \
  --dump-config >"$dir/dump" 2>&1 \
  || fail "the shipped $conf is refused: $(cat "$dir/dump")"
grep -q "installed-only" "$dir/dump" || fail "the copy's profiles not loaded"

key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
(umask 077 && echo "$key" >"$dir/api-key")
export KEEPA_SIM_KEY=$key
unset KEEPA_API_KEY
source "$here/../tools/keepa-pipeline/sim.sh"
start_sim "$bin/keepa-sim" --sim.refill-rate=3000 --sim.products=5000 \
          --sim.update-rate=300

# As the service runs it (the shipped config file, the key from a file),
# with the storage, the endpoint and the ports of the test.
"$bin/keepa-pipeline" --config-file="$conf" \
  --keepa.client.key-file="$dir/api-key" \
  --keepa.client.endpoint="http://127.0.0.1:$port" \
  --keepa.storage.url="sqlite:$dir/deals.db" --keepa.profile=installed-only \
  --keepa.run-for=6s --keepa.http.port=0 --keepa.introspection.port=0 \
  >"$dir/out" 2>"$dir/err" &
pipeline_pid=$!
timeout 30 tail --pid="$pipeline_pid" -f /dev/null \
  || fail "keepa-pipeline still runs 30 s into a 6 s run"
rc=0
wait "$pipeline_pid" || rc=$?
pipeline_pid=
tail -n 5 "$dir/err" "$dir/out"
((rc == 0)) || fail "keepa-pipeline exited $rc: $(tail -n 3 "$dir/err")"
stored=$(sqlite3 "$dir/deals.db" "SELECT count(*) FROM deals")
((stored > 0)) || fail "no deals stored"
! grep -q -- "$key" "$dir/out" "$dir/err" || fail "the key was printed"
echo "PASSED: the installed programs ran from $root, $stored deals stored"
