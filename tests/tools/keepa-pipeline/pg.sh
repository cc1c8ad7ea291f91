# Sourced by the real-process tests that need PostgreSQL: a throwaway
# server started as an unprivileged user, on 127.0.0.1 only. Expects
# fail() and free_port (free_port.sh) from the caller; the caller stops it
# (stop_pg) when it ends.

pg_ctl=/usr/lib/postgresql/15/bin/pg_ctl
pg_data=

# PostgreSQL refuses to run as root: run its tools as postgres (or nobody).
pg_user=postgres
id "$pg_user" >/dev/null 2>&1 || pg_user=nobody
as_pg() {
  if ((EUID == 0)); then
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

# start_pg DIR: initdb and start in DIR (fsync off); sets pg_port, pg_data,
# pg_log, pg_opts (for a restart) and pg_conn (libpq keywords for database
# postgres, user keepa).
start_pg() {
  local d=$1
  [[ -x $pg_ctl ]] || fail "PostgreSQL 15 is not installed; run tools/setup.sh"
  pg_port=$(free_port)
  mkdir "$d"
  ((EUID != 0)) || chown "$pg_user" "$d"
  pg_log=$d/server.log
  as_pg /usr/lib/postgresql/15/bin/initdb -D "$d/data" --username=keepa \
    --auth=trust --encoding=UTF8 --no-sync --locale=C >"$d/initdb.log" 2>&1 \
    || fail "initdb: $(cat "$d/initdb.log")"
  pg_data=$d/data
  pg_opts="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$d"
  pg_opts+=" -p $pg_port -c fsync=off"
  as_pg "$pg_ctl" start -D "$pg_data" -w -t 30 -l "$pg_log" -o "$pg_opts" \
    >/dev/null || fail "pg_ctl start: $(cat "$pg_log")"
  pg_conn="host=127.0.0.1 port=$pg_port dbname=postgres user=keepa"
}

# Stops the server start_pg started, if any (at once).
stop_pg() {
  [[ -n $pg_data ]] && as_pg "$pg_ctl" stop -D "$pg_data" -m immediate \
    >/dev/null 2>&1
  pg_data=
}
