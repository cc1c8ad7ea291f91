#!/usr/bin/env bash
# Formats every C++ source the repository tracks with .clang-format;
# `tools/format.sh --check` only reports files that differ (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null \
  || find actors messages storage config tests tools -name '*.[ch]pp')
if [[ ${1:-} == --check ]]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then
      echo "format: $f differs from .clang-format (bash tools/format.sh)"
      bad=1
    fi
  done
  exit $bad
fi
clang-format --style=file -i "${files[@]}"
