#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for the store tests (Debian's PostgreSQL package).
#
#   scripts/postgres_test_server.sh start   # prints the URL to export as ALLIANCE_TEST_POSTGRES_URL
#   scripts/postgres_test_server.sh stop
#
# Data lives in $ALLIANCE_PG_DIR (default /tmp/alliance-pg); port $ALLIANCE_PG_PORT (55432).
# Trust authentication on 127.0.0.1 only: never use this server for real notes.
set -euo pipefail
DATA="${ALLIANCE_PG_DIR:-/tmp/alliance-pg}"
PORT="${ALLIANCE_PG_PORT:-55432}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$BIN" ]; then
  echo "PostgreSQL is not installed (Debian: apt-get install postgresql)" >&2
  exit 1
fi
as_owner() {
  # PostgreSQL refuses to run as root: use the package's 'postgres' user then.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-}" in
  start)
    if [ ! -f "$DATA/PG_VERSION" ]; then
      mkdir -p "$DATA"
      [ "$(id -u)" = 0 ] && chown postgres "$DATA"
      as_owner "$BIN/initdb" -D "$DATA" -U alliance --auth=trust -E UTF8 >/dev/null
    fi
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
      -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    echo "postgresql+psycopg://alliance@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
