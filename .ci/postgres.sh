# Sourced: starts a throwaway PostgreSQL 15 on a free loopback port (installing Debian's
# package when missing), exports PG_URL, and stops it on exit.
PG_BIN=/usr/lib/postgresql/15/bin
if [ ! -x "$PG_BIN/postgres" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
PG_DIR=$(mktemp -d /tmp/signpost-pg.XXXXXX)
chown postgres "$PG_DIR"
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
su postgres -c "$PG_BIN/initdb -D $PG_DIR/data -A trust -U postgres -E UTF8 >/dev/null"
# start.sh and stop.sh let the fault drills restart the server under load.
cat > "$PG_DIR/start.sh" <<SCRIPT
su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR/data -l $PG_DIR/log -w -o '-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=400 ${PG_EXTRA_OPTIONS:-}' start >/dev/null"
SCRIPT
cat > "$PG_DIR/stop.sh" <<SCRIPT
su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR/data -m fast -w stop >/dev/null"
SCRIPT
bash "$PG_DIR/start.sh"
export SIGNPOST_TEST_POSTGRES_DIR="$PG_DIR"
stop_pg() { su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR/data -m immediate stop >/dev/null" || true; rm -rf "$PG_DIR"; }
trap stop_pg EXIT
export PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
