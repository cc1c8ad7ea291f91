# Sourced by the real-process tests: free_port prints a loopback port
# nothing listens on (a connect attempt is refused). Another process may
# still take it first; the program started on it then says so.
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
