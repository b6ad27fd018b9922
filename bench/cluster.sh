#!/usr/bin/env bash
# Shared by the benchmark scripts: a throwaway cluster in bench/.cluster
# (Unix socket only), run as the postgres OS user, with settings fit for a
# 2-core, 24 GB machine.  synchronous_commit stays on, as in production.
set -euo pipefail
PG_MAJOR=${PG_MAJOR:-15}
# PG_CONFIG set: that installation (a private copy), else the system's.
if [ -n "${PG_CONFIG:-}" ]; then BIN=$("$PG_CONFIG" --bindir); else BIN=/usr/lib/postgresql/$PG_MAJOR/bin; fi
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER=$BENCH_DIR/.cluster
PORT=${BENCH_PORT:-55498}
export PGHOST=$CLUSTER PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres

as_pg() { runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres PGDATABASE=postgres "$@"; }
psql_q() { as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

cluster_start() {
  cluster_stop
  mkdir -p "$CLUSTER" && chown postgres "$CLUSTER"
  as_pg "$BIN/initdb" -D "$CLUSTER/data" -A trust -U postgres >/dev/null
  cat >> "$CLUSTER/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$CLUSTER'
port = $PORT
shared_buffers = 2GB
work_mem = 64MB
maintenance_work_mem = 1GB
max_wal_size = 16GB
checkpoint_timeout = 30min
synchronous_commit = on
max_connections = 50
jit = off
CONF
  as_pg "$BIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/server.log" -w start >/dev/null
}

cluster_stop() {
  if [ -d "$CLUSTER/data" ]; then
    as_pg "$BIN/pg_ctl" -D "$CLUSTER/data" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$CLUSTER"
}
