#!/usr/bin/env bash
# The Debian package (issue 19): `cpack -G DEB` in the build directory (it
# packages the binaries already built). Passes when `dpkg-deb --contents`
# lists exactly README's "What the package installs", owned by root with
# the modes a package needs, the package depends on the Debian runtime
# libraries, marks the config file as a conffile and its maintainer scripts
# parse.
#
# usage: package.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

out=$(mktemp -d "$build/package-test.XXXXXX")
trap 'rm -rf "$out"' EXIT
(cd "$build" && cpack -G DEB -B "$out") >"$out/log" 2>&1 \
  || { cat "$out/log"; fail "cpack -G DEB"; }
debs=("$out"/*.deb)
((${#debs[@]} == 1)) && [[ -f ${debs[0]} ]] || fail "no single .deb in $out"
deb=${debs[0]}
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

contents=$(dpkg-deb --contents "$deb")
echo "$contents"
files=$(awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' <<<"$contents" \
  | LC_ALL=C sort)
same_list "dpkg-deb --contents" "$(readme_manifest "$src/README.md")" "$files"

# root:root; programs 0755, everything else 0644.
while read -r mode owner _ _ _ path _; do
  [[ $owner == root/root ]] || fail "$path owned by $owner"
  case $path in
    */) [[ $mode == drwxr-xr-x ]] || fail "$path has mode $mode" ;;
    ./usr/bin/*) [[ $mode == -rwxr-xr-x ]] || fail "$path has mode $mode" ;;
    *) [[ $mode == -rw-r--r-- ]] || fail "$path has mode $mode" ;;
  esac
done <<<"$contents"

depends=$(dpkg-deb --field "$deb" Depends)
echo "Depends: $depends"
for lib in libcaf-core0.17 libcaf-io0.17 libcaf-openssl0.17 libsoci-core4.0 \
           libsoci-sqlite3-4.0 libsoci-postgresql4.0 libcurl4 libsqlite3-0 \
           libpq5 libssl3 libcpp-httplib0.11 libc6 libstdc++6; do
  [[ ", $depends," == *", $lib "* || ", $depends," == *", $lib,"* ]] \
    || fail "Depends lacks $lib: $depends"
done
for field in Package Version Architecture Maintainer Description Section; do
  [[ -n $(dpkg-deb --field "$deb" "$field") ]] || fail "no $field"
done
[[ $(dpkg-deb --field "$deb" Package) == keepa-pipeline ]] \
  || fail "package name"

ctrl=$out/control
dpkg-deb --control "$deb" "$ctrl"
[[ $(cat "$ctrl/conffiles") == /etc/keepa-pipeline/keepa-pipeline.conf ]] \
  || fail "conffiles: $(cat "$ctrl/conffiles")"
for script in postinst prerm postrm; do
  [[ -x $ctrl/$script ]] || fail "no executable $script"
  sh -n "$ctrl/$script" || fail "$script does not parse"
done
echo "PASSED: $(wc -l <<<"$files") files as README lists; Depends and" \
     "conffiles as needed"
