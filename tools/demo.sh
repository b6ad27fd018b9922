#!/usr/bin/env bash
# The README's demo command (make demo): installs missing packages, builds
# and installs the extension, starts a throwaway cluster in .demo/ (Unix
# socket only), loads sample traffic and prints a quota answer and usage
# tables, then stops and removes the cluster (KEEP_DEMO=1 keeps it running).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_MAJOR=${PG_MAJOR:-15}
BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PORT=${DEMO_PORT:-55499}

[ "$(id -u)" -eq 0 ] || { echo "run as root: it installs packages and the extension" >&2; exit 2; }
tools/install-deps.sh
make -s
make -s install >/dev/null

dir=$PWD/.demo
stop() { runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
if [ -d "$dir/data" ]; then stop; fi
mkdir -p "$dir" && chown postgres "$dir"
runuser -u postgres -- "$BIN/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $PORT -k $dir -c listen_addresses=''" start >/dev/null
[ "${KEEP_DEMO:-0}" = 1 ] || trap stop EXIT

runuser -u postgres -- "$BIN/psql" -X -q -h "$dir" -p "$PORT" -U postgres -d postgres -f tools/demo.sql
if [ "${KEEP_DEMO:-0}" = 1 ]; then
  echo "cluster kept: psql -h $dir -p $PORT -U postgres   (stop: $BIN/pg_ctl -D $dir/data stop)"
fi
