#!/usr/bin/env bash
# Fixture of the install tests (issue 19): `cmake --install` of the build
# into DESTDIR with prefix /usr, as the Debian package lays it out. Passes
# when the installed files are exactly README's list ("What the package
# installs") and no installed file holds the source or build directory.
#
# usage: install.sh BUILD_DIR SOURCE_DIR DESTDIR
set -euo pipefail
build=$1
src=$2
dest=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

rm -rf "$dest"
mkdir -p "$dest"
DESTDIR=$dest cmake --install "$build" --prefix /usr >"$dest.log" 2>&1 \
  || { cat "$dest.log"; fail "cmake --install"; }

expected=$(readme_manifest "$src/README.md")
[[ -n $expected ]] || fail "README lists no installed files"
same_list "the DESTDIR install" "$expected" "$(installed_files "$dest")"

# Nothing installed may point back into the trees it came from: the
# programs find their data relative to themselves.
bad=0
while IFS= read -r f; do
  hit=$(strings -a "$dest$f" | awk -v s="$src" -v b="$build" '
    !done && ((i = index($0, s)) || (i = index($0, b))) {
      print substr($0, i, 72); done = 1 }')
  if [[ -n $hit ]]; then
    echo "$f holds \"$hit\"" >&2
    bad=1
  fi
done <<<"$expected"
((bad == 0)) || fail "installed files hold the source or build directory"
echo "PASSED: $(wc -l <<<"$expected") files installed as README lists," \
     "none holding $src or $build"
