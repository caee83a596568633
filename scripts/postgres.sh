#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's packages.
#   bash scripts/postgres.sh install   # install the Debian packages the tests use
#   bash scripts/postgres.sh start     # start a fresh server; prints its SQLAlchemy URL
#   bash scripts/postgres.sh stop
# The server lives in $TUNELAB_PG_DIR (default /tmp/tunelab-pg) on $TUNELAB_PG_PORT (54329),
# trusts local connections and holds one database, tunelab_test, owned by user tunelab.
set -euo pipefail
DIR=${TUNELAB_PG_DIR:-/tmp/tunelab-pg}
PORT=${TUNELAB_PG_PORT:-54329}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_owner() {
  # PostgreSQL refuses to run as root; use the postgres account then.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  install)
    exec bash "$(dirname "$0")/ci-packages.sh"
    ;;
  start)
    BIN=$(pg_bin)
    [ -n "$BIN" ] || { echo "postgres.sh: PostgreSQL is not installed (run: bash scripts/postgres.sh install)" >&2; exit 1; }
    "$0" stop >/dev/null 2>&1 || true
    rm -rf "$DIR" && mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    as_owner "$BIN/initdb" -D "$DIR/data" -U tunelab --auth=trust >"$DIR/initdb.log" 2>&1
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
      -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U tunelab tunelab_test
    echo "postgresql+psycopg://tunelab@127.0.0.1:$PORT/tunelab_test"
    ;;
  stop)
    BIN=$(pg_bin)
    if [ -n "$BIN" ] && [ -f "$DIR/data/postmaster.pid" ]; then
      as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
    fi
    ;;
  *)
    echo "usage: bash scripts/postgres.sh install|start|stop" >&2
    exit 2
    ;;
esac
