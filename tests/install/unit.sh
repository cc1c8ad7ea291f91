#!/usr/bin/env bash
# The systemd unit (issue 19): installed for /usr (the fixture's DESTDIR)
# and for a prefix of the test's own, it must hold the hardening README
# states, name the installed program, config file and key credential, and
# never hold a key; a small parser checks every line (sections and
# directives known). Where systemd-analyze exists (it does on the CI
# machine) `systemd-analyze verify` must pass without a word, and the
# offline security review must rate the unit's exposure at most 2.0.
#
# usage: unit.sh DESTDIR BUILD_DIR
set -euo pipefail
dest=$1
build=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Directives of systemd.unit, .service, .exec and .kill the unit may use.
known_unit="Description Documentation Wants Requires After Before"
known_service="Type ExecStart Restart RestartSec RestartPreventExitStatus
  TimeoutStopSec DynamicUser StateDirectory StateDirectoryMode
  RuntimeDirectory RuntimeDirectoryMode Environment UMask LoadCredential
  ProtectSystem ProtectHome PrivateTmp PrivateDevices PrivateMounts
  PrivateUsers NoNewPrivileges CapabilityBoundingSet AmbientCapabilities
  ProtectKernelTunables ProtectKernelModules ProtectKernelLogs
  ProtectControlGroups ProtectClock ProtectHostname ProtectProc
  RestrictAddressFamilies RestrictNamespaces RestrictRealtime
  RestrictSUIDSGID LockPersonality MemoryDenyWriteExecute RemoveIPC
  SystemCallArchitectures SystemCallFilter SystemCallErrorNumber"
known_install="WantedBy"

# check_unit UNIT ROOT PREFIX SYSCONFDIR: the unit installed below ROOT
# (/ for a plain prefix) for PREFIX, its config in SYSCONFDIR.
check_unit() {
  local unit=$1 root=$2 prefix=$3 etc=$4 section= n=0 line key value
  declare -A seen=()
  [[ -f $unit ]] || fail "no unit at $unit"
  while IFS= read -r line; do
    n=$((n + 1))
    [[ -z $line || $line == '#'* ]] && continue
    if [[ $line =~ ^\[(Unit|Service|Install)\]$ ]]; then
      section=${BASH_REMATCH[1]}
      continue
    fi
    [[ $line =~ ^([A-Za-z]+)=(.*)$ ]] || fail "$unit:$n: not a directive: $line"
    key=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    case $section in
      Unit) known=$known_unit ;;
      Service) known=$known_service ;;
      Install) known=$known_install ;;
      *) fail "$unit:$n: $key outside a section" ;;
    esac
    [[ " ${known//$'\n'/ } " == *" $key "* ]] \
      || fail "$unit:$n: $key is not a directive of [$section] here"
    seen[$section.$key]+="$value"$'\n'
  done <"$unit"

  want() { # want SECTION.KEY VALUE
    [[ -v "seen[$1]" ]] || fail "$unit: no $1="
    grep -q -x -F -- "$2" <<<"${seen[$1]:-}" \
      || fail "$unit: no $1=$2 (has: ${seen[$1]:-nothing})"
  }
  want Service.DynamicUser yes
  want Service.Restart on-failure
  want Service.ProtectSystem strict
  want Service.ProtectHome yes
  want Service.PrivateTmp yes
  want Service.NoNewPrivileges yes
  want Service.StateDirectory keepa-pipeline
  want Service.RuntimeDirectory keepa-pipeline
  want Service.RestartPreventExitStatus "2 3 243"
  want Service.CapabilityBoundingSet ""
  want Service.LoadCredential "keepa-api-key:$etc/keepa-pipeline/api-key"
  want Install.WantedBy multi-user.target
  want Service.ExecStart "$prefix/bin/keepa-pipeline --config-file=$etc/keepa-pipeline/keepa-pipeline.conf --keepa.client.key-file=\${CREDENTIALS_DIRECTORY}/keepa-api-key"
  [[ -x $root$prefix/bin/keepa-pipeline ]] \
    || fail "$unit starts $prefix/bin/keepa-pipeline, not installed"
  local conf=$root$etc/keepa-pipeline/keepa-pipeline.conf
  [[ -f $conf ]] || fail "$unit reads $etc/keepa-pipeline/keepa-pipeline.conf, not installed"
  # The database lies in the state directory.
  grep -q -x -F 'url="sqlite:/var/lib/keepa-pipeline/deals.db"' "$conf" \
    || fail "$conf: the storage is not in /var/lib/keepa-pipeline"
  # The key comes as a credential only: not in the unit's environment,
  # not from an environment file, not in the config file.
  ! grep -q -E '^(Environment=.*KEEPA_API_KEY|EnvironmentFile=)' "$unit" \
    || fail "$unit hands the key over in the environment"
  ! grep -q -E '^[^;]*key' "$conf" || fail "$conf sets a key"
}

check_unit "$dest/usr/lib/systemd/system/keepa-pipeline.service" "$dest" \
  /usr /etc
echo "the /usr unit holds what README says"

# A prefix of its own: the unit names the paths of that prefix, so
# systemd-analyze can check that the program it starts exists.
tmp=$(mktemp -d "$build/unit-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/log" 2>&1 \
  || { cat "$tmp/log"; fail "cmake --install --prefix $prefix"; }
unit=$prefix/lib/systemd/system/keepa-pipeline.service
check_unit "$unit" "" "$prefix" "$prefix/etc"
echo "the unit for $prefix holds what README says"

if ! command -v systemd-analyze >/dev/null; then
  echo "PASSED (systemd-analyze not installed: checked by the parser alone)"
  exit 0
fi
if ! out=$(systemd-analyze verify "$unit" 2>&1) || [[ -n $out ]]; then
  fail "systemd-analyze verify: $out"
fi
echo "systemd-analyze verify: no complaint"
review=$(systemd-analyze security --offline=true "$unit" 2>&1) \
  || fail "systemd-analyze security: $review"
level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
  <<<"$review")
[[ -n $level ]] || fail "no exposure level in: $review"
awk -v x="$level" 'BEGIN { exit !(x <= 2.0) }' \
  || fail "exposure $level above 2.0: $(grep '✗' <<<"$review")"
echo "PASSED: systemd-analyze security --offline: exposure $level"
