#!/usr/bin/env bash
# keepa-sim, keepa-pipeline and keepa-status as real processes over
# loopback, out of the box: keepa-pipeline creates the owner's certificates
# in $XDG_RUNTIME_DIR/keepa-pipeline/introspection-tls and publishes
# INTROSPECTION over CAF's OpenSSL module; keepa-status reads it with them.
# A stranger (no certificates, or a CA of its own) gets nothing, and a
# crafted BASP header sent to the TLS port leaves keepa-pipeline's peak RSS
# flat. Every wait is bounded; everything started is stopped.
#
# usage: introspection_processes.sh KEEPA_SIM KEEPA_PIPELINE KEEPA_STATUS
set -euo pipefail

sim=$1
pipeline=$2
status=$3
dir=$(mktemp -d)
fail() { echo "FAILED: $*" >&2; exit 1; }
key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key
mkdir -m 700 "$dir/owner" "$dir/stranger"
export XDG_RUNTIME_DIR=$dir/owner

source "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
start_sim "$sim" --sim.refill-rate=3000 --sim.products=2000 \
          --sim.update-rate=300

source "$(dirname "${BASH_SOURCE[0]}")/free_port.sh"
caf_port=$(free_port)
http_port=$(free_port)

"$pipeline" --keepa.client.endpoint="http://127.0.0.1:$port" \
            --keepa.storage.url="sqlite:$dir/deals.db" \
            --keepa.status-every=1s \
            --keepa.introspection.port="$caf_port" \
            --keepa.http.port="$http_port" \
            >"$dir/out" 2>"$dir/err" &
pipeline_pid=$!
timeout 20 bash -c "until grep -q ' info keepa-pipeline: http on' '$dir/err'; do
                      sleep 0.1; done" \
  || fail "keepa-pipeline did not start: $(cat "$dir/err")"
grep -q " info keepa-pipeline: introspection on 127.0.0.1:$caf_port (CAF, mutual TLS" \
  "$dir/err" || fail "INTROSPECTION not published: $(cat "$dir/err")"

# The owner's certificates: a directory of mode 0700, files 0600.
tls=$dir/owner/keepa-pipeline/introspection-tls
[[ $(stat -c %a "$tls") == 700 ]] || fail "$tls is not 0700"
for f in ca.pem server.pem server.key client.pem client.key; do
  [[ $(stat -c %a "$tls/$f") == 600 ]] || fail "$tls/$f is not 0600"
done

# The owner: keepa-status takes CAF by default, with those certificates.
out=$(timeout 20 "$status" --caf-port="$caf_port" --port="$http_port") \
  || fail "keepa-status: $out"
[[ $out == "keepa-pipeline at 127.0.0.1:$caf_port (CAF)"* ]] \
  || fail "keepa-status did not use CAF: $out"
[[ $out == *"token: balance"* && $out == *"committer:"* ]] \
  || fail "keepa-status printed no report: $out"

# A stranger without the owner's certificates: none at all (exit 2), or a
# CA of its own (made by another keepa-pipeline's code path: exit 1).
rc=0
out=$(XDG_RUNTIME_DIR=$dir/stranger timeout 20 "$status" --via=caf \
        --caf-port="$caf_port" 2>&1) || rc=$?
((rc == 2)) || fail "a stranger without certificates: exit $rc: $out"
XDG_RUNTIME_DIR=$dir/stranger timeout 20 "$pipeline" --keepa.run-for=1ms \
  --keepa.client.endpoint="http://127.0.0.1:1" \
  --keepa.storage.url="sqlite:$dir/stranger.db" --keepa.http.port=0 \
  --keepa.introspection.port="$(free_port)" >/dev/null 2>&1 || true
own=$dir/stranger/keepa-pipeline/introspection-tls
[[ -f $own/client.pem ]] || fail "no stranger's CA was made"
rc=0
out=$(timeout 20 "$status" --via=caf --caf-port="$caf_port" \
        --openssl.certificate="$own/client.pem" --openssl.key="$own/client.key" \
        --openssl.cafile="$own/ca.pem" 2>&1) || rc=$?
((rc == 1)) || fail "a stranger with a CA of its own: exit $rc: $out"
[[ $out != *balance* ]] || fail "a stranger read the status: $out"

# One crafted BASP header (client_handshake announcing ~4 GiB) to the TLS
# port: the handshake fails first, the peak RSS stays flat.
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$pipeline_pid/status"; }
before=$(hwm)
# operation 1, 3 bytes padding, payload_len 0xfffffff0, operation_data 3
# (BASP version), source and destination actor 0.
{
  printf '\x01\x00\x00\x00\xff\xff\xff\xf0'
  printf '\x00\x00\x00\x00\x00\x00\x00\x03'
  printf '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
} >"$dir/basp"
exec 3<>"/dev/tcp/127.0.0.1/$caf_port"
cat "$dir/basp" >&3
timeout 5 cat <&3 >/dev/null 2>&1 || true
exec 3>&-
# The owner still reads it (and the process is still there).
timeout 20 "$status" --via=caf --caf-port="$caf_port" >/dev/null \
  || fail "keepa-status failed after the crafted header"
after=$(hwm)
growth=$((after - before))
echo "peak RSS (VmHWM) $before kB -> $after kB after the crafted BASP header"
((growth < 32 * 1024)) || fail "peak RSS grew by $growth kB"

stop_pipeline 10
((rc == 0)) || fail "exit status $rc after SIGTERM"
! grep -q -- "$key" "$dir/out" "$dir/err" || fail "the key was printed"
echo "PASSED: the owner read INTROSPECTION over TLS, a stranger nothing"
