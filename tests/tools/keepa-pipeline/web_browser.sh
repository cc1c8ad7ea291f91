#!/usr/bin/env bash
# The dashboard in a real browser: keepa-sim and keepa-pipeline over
# loopback, Debian's headless Chromium opens the address keepa-pipeline
# prints (/?token=..., which sets the session cookie and redirects to /),
# runs the page's JavaScript (virtual time, so polling runs without waiting
# for the wall clock) and dumps the DOM: deal rows with decoded titles,
# Amazon and Keepa links, a drawn balance chart with cap and floor, the
# stage counters; no token in the page. Then a screenshot, kept in OUT_DIR.
# Every wait is bounded; everything started is stopped (Chromium in its own
# process group).
#
# usage: web_browser.sh KEEPA_SIM KEEPA_PIPELINE OUT_DIR
set -euo pipefail

sim=$1
pipeline=$2
out=$3
dir=$(mktemp -d)
fail() { echo "FAILED: $*" >&2; exit 1; }
key="test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export KEEPA_SIM_KEY=$key KEEPA_API_KEY=$key
command -v chromium >/dev/null || fail "chromium missing (bash tools/setup.sh)"

source "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
source "$(dirname "${BASH_SOURCE[0]}")/free_port.sh"
source "$(dirname "${BASH_SOURCE[0]}")/dashboard.sh"
start_sim "$sim" --sim.refill-rate=20000 --sim.products=20000 \
          --sim.update-rate=600 --sim.seed=7

chrome_pid=
stop_all() {
  [[ -n $chrome_pid ]] && kill -KILL -- "-$chrome_pid" 2>/dev/null || true
  cleanup
}
trap stop_all EXIT

start_dashboard deals --keepa.status-every=1s
[[ $url == "http://127.0.0.1:$http_port/?token=$token" ]] \
  || fail "dashboard address: $url"

# Until deals are stored and TOKEN's balance was sampled (bounded).
api() { curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$http_port$1"; }
timeout 60 bash -c "
  until [[ \$(curl -sf -H 'Authorization: Bearer $token' \
               'http://127.0.0.1:$http_port/api/deals?limit=1' \
              | jq '.total') -ge 20 ]] 2>/dev/null; do sleep 0.5; done" \
  || fail "no deals stored within 60 s: $(tail -3 "$dir/deals.err")"
timeout 30 bash -c "
  until [[ \$(curl -sf -H 'Authorization: Bearer $token' \
               'http://127.0.0.1:$http_port/api/balance' \
              | jq '.balance_tokens | length') -ge 1 ]] 2>/dev/null; do
    sleep 0.5; done" || fail "no balance sample within 30 s"
total=$(api "/api/deals?limit=1" | jq '.total')

# Chromium: a fresh profile, nothing but loopback (every other host goes to
# a dead proxy and resolves to nothing), no background traffic.
chrome() {
  setsid chromium --headless --no-sandbox --disable-gpu \
    --user-data-dir="$dir/chrome" --no-first-run --no-default-browser-check \
    --disable-background-networking --disable-component-update \
    --disable-sync --disable-default-apps --disable-extensions \
    --proxy-server=127.0.0.1:9 \
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
    --window-size=1400,1800 --virtual-time-budget=10000 "$@" \
    2>>"$dir/chrome.err" &
  chrome_pid=$!
  timeout 90 tail --pid="$chrome_pid" -f /dev/null \
    || fail "chromium still running after 90 s: $(tail -5 "$dir/chrome.err")"
  wait "$chrome_pid" || fail "chromium failed: $(tail -5 "$dir/chrome.err")"
  chrome_pid=
}
chrome --dump-dom "$url" >"$dir/dom.html"
dom=$(cat "$dir/dom.html")
[[ -n $dom ]] || fail "chromium dumped nothing: $(tail -5 "$dir/chrome.err")"

# The deals table: a full first page (50 rows, or all there were), each
# row with its title linking to Amazon, an Amazon and a Keepa link.
rows=$(grep -o '<tr class="deal"' <<<"$dom" | wc -l)
want=$((total < 50 ? total : 50))
((rows >= want && rows > 0)) || fail "$rows deal rows for $total deals"
amazon=$(grep -oE 'href="https://www\.amazon\.com/dp/[0-9A-Z]{10}"' <<<"$dom" | wc -l)
keepa=$(grep -oE 'href="https://keepa\.com/#!product/1-[0-9A-Z]{10}"' <<<"$dom" | wc -l)
((amazon == 2 * rows)) || fail "$amazon Amazon links for $rows rows"
((keepa == rows)) || fail "$keepa Keepa links for $rows rows"
# Titles decoded at ingestion: no markup or entity shows as text (the DOM
# serializes a text '&' as '&amp;', a text '<' as '&lt;'); keepa-sim gives
# about a quarter of its titles "<i>Revised</i>" or " &amp; Other Stories".
titles=$(grep -oE 'class="deal-title"[^>]*>[^<]*' <<<"$dom" | sed 's/.*>//')
(($(wc -l <<<"$titles") == rows)) || fail "not one title per row"
if grep -E '&lt;|&amp;(amp|lt|gt|quot|#)' <<<"$titles"; then
  fail "titles show markup or entities"
fi
grep -qE 'Revised|&amp; Other Stories' <<<"$titles" \
  || fail "no decorated title among $rows rows: $titles"
# Prices in dollars.
grep -qE '<td[^>]*>\$[0-9,]+\.[0-9]{2}</td>' <<<"$dom" || fail "no dollar prices"

# The chart: the balance line with at least two points, cap and floor.
points=$(grep -oE '<polyline points="[^"]*" class="balance" id="balance-line"' <<<"$dom" \
         | sed 's/.*points="\([^"]*\)".*/\1/')
(($(wc -w <<<"$points") >= 2)) || fail "no balance line drawn: $points"
grep -q 'id="cap-line"' <<<"$dom" || fail "no cap line"
grep -q 'id="floor-line"' <<<"$dom" || fail "no floor line"
grep -qE 'class="cap-label"[^>]*>cap [0-9,]+<' <<<"$dom" || fail "no cap label"

# TOKEN and the stages.
grep -qE '<span id="balance">-?[0-9,]+</span>' <<<"$dom" || fail "no balance"
grep -qE '<td>committed</td><td>[0-9,]+</td>' <<<"$dom" || fail "no stage counters"
grep -q 'class="live ok"' <<<"$dom" || fail "the page is not live"

# No secret in the page.
for secret in "$token" "$key"; do
  [[ $dom != *"$secret"* ]] || fail "a secret is in the page"
done

# A screenshot for people, kept beside the build.
mkdir -p "$out"
rm -f "$out/dashboard.png"
chrome --screenshot="$out/dashboard.png" "$url" >/dev/null
[[ $(head -c 8 "$out/dashboard.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] \
  || fail "no PNG screenshot"

stop_pipeline 10
((rc == 0)) || fail "keepa-pipeline exited $rc"
echo "$rows deal rows of $total, $amazon Amazon and $keepa Keepa links," \
     "$(wc -w <<<"$points") chart points; screenshot $out/dashboard.png"
