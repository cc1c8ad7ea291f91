# Sourced by the dashboard's tests and web-bench (after sim.sh and
# free_port.sh): keepa-pipeline with its HTTP server on a free port.

# start_dashboard NAME [OPTION...]: keepa-pipeline against keepa-sim
# ($port) into sqlite:$dir/NAME.db, HTTP on a free port (its token in
# $dir/NAME.token, output in $dir/NAME.out and $dir/NAME.err), until it
# prints the dashboard's address (20 s at most). Sets pipeline_pid,
# http_port, token and url.
start_dashboard() {
  local name=$1
  shift
  http_port=$(free_port)
  "$pipeline" --keepa.client.endpoint="http://127.0.0.1:$port" \
              --keepa.storage.url="sqlite:$dir/$name.db" \
              --keepa.introspection.port=0 --keepa.http.port="$http_port" \
              --keepa.http.token-file="$dir/$name.token" "$@" \
              >"$dir/$name.out" 2>"$dir/$name.err" &
  pipeline_pid=$!
  timeout 20 bash -c "until grep -q ' info keepa-pipeline: dashboard: ' \
                        '$dir/$name.err'; do sleep 0.1; done" \
    || fail "$name: no dashboard address: $(cat "$dir/$name.err")"
  token=$(cat "$dir/$name.token")
  url=$(sed -n 's/^.* info keepa-pipeline: dashboard: //p' "$dir/$name.err")
}
