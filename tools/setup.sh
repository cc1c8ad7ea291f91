#!/usr/bin/env bash
# Installs the Debian packages keepa-pipeline needs to build, run and test.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcaf-dev                      # CAF 0.17.6 (caf_core, caf_io)
  libcaf-openssl0.17              # caf_openssl: INTROSPECTION over mutual TLS
  rapidjson-dev
  libspdlog-dev                   # the log: timestamps, levels, JSON lines
  libsoci-dev libsqlite3-dev libpq-dev
  libxml2-dev                     # storage: HTML entities and tags in titles
  python3                         # keepa-deals tests parse its CSV
  catch2                          # Catch2 v2
  libcurl4-openssl-dev zlib1g-dev
  libcpp-httplib-dev libssl-dev
  sqlite3
  systemd                         # systemd-analyze: the install tests verify the unit
  prometheus-cpp-dev              # /metrics: prometheus-cpp core
  prometheus                      # promtool: the metrics and alert-rule tests
  postgresql                      # initdb/pg_ctl for the storage tests
  curl jq                         # the storage-outage tests read /status
  chromium                        # the dashboard's browser test (label web)
  gnuplot-nox                     # keepa-bench's balance plot
  wrk                             # sim-bench's load figures (bench only)
  time                            # eta-bench's peak RSS (bench only)
  libjemalloc-dev                 # keepa-eta's allocator (5-8 % less CPU than glibc's)
  clang-format                    # tools/format.sh, the `format` test
  python3-requests                # sim-python-requests: the Python keepa client's requests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
