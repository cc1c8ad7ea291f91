# Sourced by the real-process tests: free_port prints a loopback port
# nothing listens on (a connect attempt is refused). Another process may
# still take it first; the program started on it then says so. Also
# wait_until, the bounded wait for a condition.
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  fail "no free loopback port"
}

# Waits up to $1 seconds for the command $2... to succeed (polls 5 a second).
wait_until() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.2
  done
}
