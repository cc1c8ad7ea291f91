#!/usr/bin/env bash
# A peer of keepa-token that dies without closing its TLS session (kill -9)
# must not cut the other pipelines off (issue 22). keepa-sim, keepa-token
# and one keepa-pipeline spending from it; then `openssl s_client` with the
# owner's client certificate connects to keepa-token, completes the TLS
# handshake and is killed with -9, three times. Passes when the pipeline
# never lost its connection meanwhile and its /status (keepa-token's
# snapshot through its link) answered each time within 1 s. About 5 s.
#
# Before the fix, each kill cut the pipeline's connection: CAF 0.17 leaves
# OpenSSL 3's "unexpected eof while reading" of the dead session in the
# thread's error queue (it clears it only in a log statement compiled out
# of Debian's build), and the next read of another session that only
# wants more data reads it back as a failure and closes that session.
#
# usage: dead_peer.sh KEEPA_SIM KEEPA_TOKEN KEEPA_PIPELINE
set -euo pipefail

sim=$1
token=$2
pipeline=$3
mode=dead-peer
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../keepa-pipeline/free_port.sh"
source "$here/processes.sh"
begin_run
peer_pid=
stop_all() {
  [[ -n $peer_pid ]] && kill -KILL "$peer_pid" 2>/dev/null || true
  stop_everything
}
trap stop_all EXIT

start_sim "$sim" --sim.refill-rate=300 --sim.products=2000
token_port=$(free_port)
start_token
remote=127.0.0.1:$token_port
# SQLite will do here.
KEEPA_API_KEY=$key "$pipeline" \
  --keepa.client.endpoint="http://127.0.0.1:$port" \
  --keepa.storage.url="sqlite:$dir/one.db" --keepa.token.remote="$remote" \
  --keepa.http.port="$(free_port | tee "$dir/one.http")" \
  --keepa.http.token-file="$dir/one.bearer" --keepa.introspection.port=0 \
  --keepa.status-every=1s >"$dir/one.out" 2>"$dir/one.err" &
pipeline_pids[one]=$!
wait_until 60 connected one \
  || fail "the pipeline did not reach keepa-token: $(tail -n 3 "$dir/one.err")"

tls=$XDG_RUNTIME_DIR/keepa-pipeline/introspection-tls
for round in 1 2 3; do
  # A TLS session with the owner's client certificate, held open.
  openssl s_client -connect "$remote" -cert "$tls/client.pem" \
    -key "$tls/client.key" -CAfile "$tls/ca.pem" -quiet -ign_eof \
    </dev/null >"$dir/peer.$round" 2>&1 &
  peer_pid=$!
  wait_until 10 grep -q 'verify return:1' "$dir/peer.$round" \
    || fail "openssl s_client did not complete the handshake:" \
      "$(cat "$dir/peer.$round")"
  kill -KILL "$peer_pid"
  wait "$peer_pid" 2>/dev/null || true
  peer_pid=
  t0=$(now_ms)
  s=$(status one)
  t1=$(now_ms)
  mode_now=$(jq -r '.token.mode // "none"' <<<"$s")
  echo "round $round: kill -9 of a TLS peer; the pipeline's /status took" \
    "$((t1 - t0)) ms, TOKEN mode: $mode_now"
  ((t1 - t0 < 1000)) || fail "the pipeline's /status took $((t1 - t0)) ms"
done
sleep 1
if grep -q 'connection lost' "$dir/one.err"; then
  fail "the pipeline lost its connection to keepa-token when another peer" \
    "died: $(grep -m1 'connection lost' "$dir/one.err" | cut -c1-200)"
fi
echo "PASSED ($mode): the pipeline kept its connection through 3 dead peers"
