#!/usr/bin/env bash
# Who may read the dashboard, with real processes: keepa-pipeline refuses to
# serve HTTP on a host other than 127.0.0.1 (127.0.0.2 stands in for a real
# interface) without a configured access token file; with one, a request
# without the token gets 401 (Basic for the page, so a browser asks),
# Bearer and Basic pass, a token in the URL does not; on 127.0.0.1 the
# printed /?token= address sets an HttpOnly SameSite=Strict cookie. No
# answer holds a secret, and the access token file is only read. Every wait
# is bounded; everything started is stopped.
#
# usage: web_access.sh KEEPA_SIM KEEPA_PIPELINE
set -euo pipefail

sim=$1
pipeline=$2
dir=$(mktemp -d)
fail() { echo "FAILED: $*" >&2; exit 1; }
key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key
source "$(dirname "${BASH_SOURCE[0]}")/free_port.sh"

# -- refused before anything starts -------------------------------------------

refused() { # refused WHY OPTION...: exit 2 with WHY on stderr
  local why=$1 rc=0 err
  shift
  err=$(timeout 20 "$pipeline" --keepa.client.endpoint=http://127.0.0.1:1 \
          --keepa.storage.url="sqlite:$dir/refused.db" \
          --keepa.introspection.port=0 --keepa.http.port="$(free_port)" \
          --keepa.run-for=5s "$@" 2>&1 >/dev/null) || rc=$?
  ((rc == 2)) || fail "exit $rc, not 2, for $*: $err"
  [[ $err == *"$why"* ]] || fail "no \"$why\" for $*: $err"
  [[ ! -e $dir/refused.db ]] || fail "started anyway for $*"
  echo "refused ($*): $err"
}
refused "keepa.http.host 127.0.0.2 lets others reach the dashboard, /status and /metrics: it needs keepa.http.access-token-file" \
  --keepa.http.host=127.0.0.2
refused "keepa.http.host 0.0.0.0 lets others reach" --keepa.http.host=0.0.0.0
access=$dir/access.token
printf '%s\n' "correct-horse-battery-staple-$RANDOM" >"$access"
chmod 644 "$access"
refused "may be read by others (chmod 600 it)" --keepa.http.host=127.0.0.2 \
  --keepa.http.access-token-file="$access"
chmod 600 "$access"
printf 'short\n' >"$dir/short.token"
chmod 600 "$dir/short.token"
refused "holds fewer than 16 characters" --keepa.http.host=127.0.0.2 \
  --keepa.http.access-token-file="$dir/short.token"
configured=$(cat "$access")
before=$(stat -c '%Y %s %a' "$access")

# -- two pipelines: on 127.0.0.2 with the configured token, on 127.0.0.1 ------

source "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
source "$(dirname "${BASH_SOURCE[0]}")/dashboard.sh"
start_sim "$sim" --sim.refill-rate=3000 --sim.products=2000 \
          --sim.update-rate=300
local_pid=
stop_all() {
  [[ -n $local_pid ]] && kill -KILL "$local_pid" 2>/dev/null || true
  cleanup
}
trap stop_all EXIT

start_dashboard local
local_pid=$pipeline_pid local_port=$http_port local_token=$token
start_dashboard exposed --keepa.http.host=127.0.0.2 \
  --keepa.http.access-token-file="$access"
exposed_port=$http_port run_token=$token

# -- 127.0.0.2: the configured token, Bearer or Basic -------------------------

base=http://127.0.0.2:$exposed_port
grep -q " info keepa-pipeline: dashboard: $base/$" "$dir/exposed.err" \
  || fail "exposed: the address: $(grep dashboard: "$dir/exposed.err")"
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
header() { # header NAME URL [CURL-OPTION...]: the header's value
  local name=$1
  shift
  curl -s -D - -o /dev/null "$@" | tr -d '\r' \
    | sed -n "s/^$name: //Ip" | head -1
}
[[ $(status "$base/") == 401 ]] || fail "/ without a token"
[[ $(header WWW-Authenticate "$base/") == 'Basic realm="keepa-pipeline", charset="UTF-8"' ]] \
  || fail "/ asks no Basic: $(header WWW-Authenticate "$base/")"
for path in /app.js /api/summary /api/deals /api/balance /status /metrics; do
  [[ $(status "$base$path") == 401 ]] || fail "$path without a token"
done
[[ $(header WWW-Authenticate "$base/api/deals") == Bearer* ]] \
  || fail "/api/deals: no Bearer challenge"
[[ $(status "$base/?token=$configured") == 401 ]] \
  || fail "a token in the URL passed on 127.0.0.2"
[[ -z $(header Set-Cookie "$base/?token=$configured") ]] \
  || fail "a cookie on 127.0.0.2"
[[ $(status -u "anyone:wrong-$configured" "$base/") == 401 ]] || fail "a wrong Basic"
[[ $(status -H "Authorization: Bearer x$configured" "$base/api/deals") == 401 ]] \
  || fail "a wrong Bearer"
[[ $(status -u "anyone:$configured" "$base/") == 200 ]] || fail "Basic refused"
[[ $(status -H "Authorization: Bearer $configured" "$base/api/deals") == 200 ]] \
  || fail "Bearer refused"
[[ $(status -H "Authorization: Bearer $run_token" "$base/api/summary") == 200 ]] \
  || fail "the per-run token refused"
[[ $(status -X POST -H "Authorization: Bearer $configured" "$base/api/deals") == 405 ]] \
  || fail "POST is not 405"
page=$(curl -sf -u "me:$configured" "$base/")
[[ $page == *"<title>keepa-pipeline</title>"* ]] || fail "no page: $page"

# No answer holds a secret: the API key, a token, the session.
for path in / /app.js /style.css /api/summary /api/balance /api/deals \
            /api/locales /status /status.txt /metrics; do
  body=$(curl -sf -H "Authorization: Bearer $configured" "$base$path") \
    || fail "$path: no answer"
  for secret in "$key" "$configured" "$run_token"; do
    [[ $body != *"$secret"* ]] || fail "$path holds a secret"
  done
done
[[ $(stat -c '%Y %s %a' "$access") == "$before" && $(cat "$access") == "$configured" ]] \
  || fail "the access token file changed"

# -- 127.0.0.1: /?token= once, then the cookie ---------------------------------

url=http://127.0.0.1:$local_port/?token=$local_token
grep -q " info keepa-pipeline: dashboard: $url$" "$dir/local.err" \
  || fail "local: the address: $(grep dashboard: "$dir/local.err")"
[[ $(status "http://127.0.0.1:$local_port/") == 401 ]] || fail "local / without a token"
[[ $(status "http://127.0.0.1:$local_port/?token=x$local_token") == 401 ]] \
  || fail "local: a wrong token in the URL"
[[ $(status -c "$dir/jar" "$url") == 303 ]] || fail "/?token= is no redirect"
[[ $(header Location "$url") == / ]] || fail "/?token= goes elsewhere"
cookie=$(header Set-Cookie "$url")
[[ $cookie =~ ^keepa_session_${local_port}=[0-9a-f]{64}\;\ Path=/\;\ HttpOnly\;\ SameSite=Strict$ ]] \
  || fail "the cookie: $cookie"
[[ $cookie != *"$local_token"* ]] || fail "the cookie holds the token"
[[ $(status -b "$dir/jar" "http://127.0.0.1:$local_port/") == 200 ]] \
  || fail "the cookie does not open /"
[[ $(status -b "$dir/jar" "http://127.0.0.1:$local_port/api/deals") == 200 ]] \
  || fail "the cookie does not open /api/deals"

kill -TERM "$local_pid"
timeout 10 tail --pid="$local_pid" -f /dev/null || fail "local: still running"
local_pid=
stop_pipeline 10
((rc == 0)) || fail "exposed: exit $rc"
echo "127.0.0.2: 401 without the token, Bearer and Basic pass;" \
     "127.0.0.1: /?token= sets the cookie; no secret in any answer"
