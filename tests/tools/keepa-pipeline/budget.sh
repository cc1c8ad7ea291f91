# shellcheck shell=bash disable=SC2034
# Sourced by the real-process tests of one key's budget (issue 22): a test
# key for keepa-sim and the pipelines, keepa-sim (sim.sh) and keepa-token
# on loopback, and the cleanup of both and of a second pipeline.
#
# Expects $1 KEEPA_SIM, $2 KEEPA_TOKEN, $3 KEEPA_PIPELINE of the test; sets
# sim, token, pipeline, dir, key, port, token_pid, other_pid (the second
# pipeline's, for stop_all) and remote (keepa-token's HOST:PORT).

sim=$1
token=$2
pipeline=$3
dir=$(mktemp -d)
fail() { echo "FAILED: $*" >&2; exit 1; }
key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key
mkdir -m 700 "$dir/xdg"
export XDG_RUNTIME_DIR=$dir/xdg

source "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
start_sim "$sim" --sim.refill-rate=300 --sim.products=5000 \
          --sim.update-rate=300
token_pid= other_pid=
stop_all() {
  if [[ -n $other_pid ]]; then kill -KILL "$other_pid" 2>/dev/null || true; fi
  if [[ -n $token_pid ]]; then kill -KILL "$token_pid" 2>/dev/null || true; fi
  cleanup
}
trap stop_all EXIT

# keepa-token holds no key.
env -u KEEPA_API_KEY "$token" --keepa.token.port=0 --keepa.status-every=1s \
  >"$dir/token" 2>&1 &
token_pid=$!
timeout 20 bash -c "until grep -q 'TOKEN on' '$dir/token'; do sleep 0.1; done" \
  || fail "keepa-token did not start: $(cat "$dir/token")"
remote=$(grep -o 'TOKEN on 127.0.0.1:[0-9]*' "$dir/token" | cut -d' ' -f3)
