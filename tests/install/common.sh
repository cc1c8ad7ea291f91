# Sourced by the install tests: fail, and the list of installed files that
# README's "What the package installs" states (one absolute path a line).

fail() { echo "FAILED: $*" >&2; exit 1; }

# readme_manifest README: the paths of the code block that follows the
# heading "### What the package installs", sorted.
readme_manifest() {
  awk '/^### What the package installs/ { section = 1; next }
       section && /^```/ { if (block) exit; block = 1; next }
       block && NF { print $1 }' "$1" | LC_ALL=C sort
}

# installed_files DIR: every file and symlink below DIR, as absolute paths
# of the installed system (DIR taken as /), sorted.
installed_files() {
  (cd "$1" && find . \( -type f -o -type l \) -printf '/%P\n') | LC_ALL=C sort
}

# same_list WHAT EXPECTED ACTUAL: fails with both sides' differences.
same_list() {
  local d
  if ! d=$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3")); then
    printf '%s\n' "$d" >&2
    fail "$1 differs from README (< README, > $1)"
  fi
}
