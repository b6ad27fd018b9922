#!/usr/bin/env bash
# The Citus cluster suite (issue 16): builds and installs usage_analytics
# into a PostgreSQL installation that has Citus and pg_cron, starts a
# coordinator and two workers on 127.0.0.1 in a scratch directory, installs
# the extension on the coordinator (Citus propagates it to the workers) and
# runs every test/citus/*.sql against that one cluster, in name order.
# Citus is not packaged by Debian, so this is not part of `make test`: build
# Citus from a snapshot outside the repository (README, "Citus (scale-out,
# with Citus") and point this script at it.
#
#   CITUS_PG_CONFIG=/path/to/pg_config tools/citus-test.sh [test/citus/x.sql ...]
#
#   CITUS_PG_CONFIG   pg_config of the installation that has citus, pg_cron
#                     and pgTAP (required); the extension is installed there
#   CITUS_PORT_BASE   coordinator port; workers on +1 and +2 (default 56400);
#                     090_restore starts two servers of its own on +10 and +11
#   CITUS_DB          the database the suite runs in (default ua_citus)
#   CITUS_KEEP=1      keep the scratch directory (data directories, server
#                     logs) after the run; it is removed otherwise
#
# Run as root (the servers and psql then run as the postgres OS user) or as
# the user that owns the installation.  Each test file is a pgTAP script run
# by psql with ON_ERROR_STOP=0 against the coordinator; its output goes to
# test/citus/results/NAME.out and to stdout.  Counted over all files: "ok N"
# lines pass, "not ok N" lines fail (TODO or not), tests planned but not run
# fail, a file without a plan line fails once.  Last line:
# "N passed, N failed"; the exit status is 0 only when nothing failed.
# Every server started is stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${CITUS_PG_CONFIG:?set CITUS_PG_CONFIG to the pg_config of an installation with citus and pg_cron}"
PORT_BASE=${CITUS_PORT_BASE:-56400}
DB=${CITUS_DB:-ua_citus}

BINDIR=$("$CITUS_PG_CONFIG" --bindir)
SHAREDIR=$("$CITUS_PG_CONFIG" --sharedir)
for ext in citus pg_cron pgtap; do
  if [ ! -f "$SHAREDIR/extension/$ext.control" ]; then
    echo "citus-test: $ext is not installed in $SHAREDIR (CITUS_PG_CONFIG=$CITUS_PG_CONFIG)" >&2
    exit 2
  fi
done

if [ $# -gt 0 ]; then
  TESTS=("$@")
else
  TESTS=(test/citus/*.sql)
fi

# The servers, initdb and psql run as postgres when we are root.
if [ "$(id -u)" -eq 0 ]; then
  AS_PG=(runuser -u postgres --)
else
  AS_PG=()
fi

echo "=== build and install into $("$CITUS_PG_CONFIG" --pkglibdir) ==="
make -s PG_CONFIG="$CITUS_PG_CONFIG"
make -s install PG_CONFIG="$CITUS_PG_CONFIG" >/dev/null

scratch=$(mktemp -d /tmp/usage_analytics-citus.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres "$scratch"
NODES=(coordinator worker1 worker2)
started=()

cleanup() {
  local node
  for node in "${started[@]}"; do
    "${AS_PG[@]}" "$BINDIR/pg_ctl" -D "$scratch/$node" -m fast -w stop >/dev/null 2>&1 || true
  done
  # Servers a test started itself (090_restore: a restored coordinator and
  # its worker), in $scratch/extra-*.
  for node in "$scratch"/extra-*/; do
    [ -f "$node/PG_VERSION" ] || continue
    "${AS_PG[@]}" "$BINDIR/pg_ctl" -D "$node" -m fast -w stop >/dev/null 2>&1 || true
  done
  if [ "${CITUS_KEEP:-}" = 1 ]; then
    echo "citus-test: kept $scratch"
  else
    rm -rf "$scratch"
  fi
}
trap cleanup EXIT

port_of() {					# $1: index in NODES
  echo $((PORT_BASE + $1))
}

psql_on() {					# $1: port, $2: database, rest: psql arguments
  local port=$1 db=$2
  shift 2
  "${AS_PG[@]}" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -d "$db" "$@"
}

echo "=== cluster: coordinator on $(port_of 0), workers on $(port_of 1) and $(port_of 2) ==="
for i in 0 1 2; do
  node=${NODES[$i]}
  "${AS_PG[@]}" "$BINDIR/initdb" -D "$scratch/$node" -U postgres -A trust -E UTF8 \
    --locale=C.UTF-8 >"$scratch/$node.initdb.log" 2>&1
  cat >>"$scratch/$node/postgresql.conf" <<EOF
port = $(port_of "$i")
listen_addresses = '127.0.0.1'
unix_socket_directories = '$scratch'
shared_preload_libraries = 'citus,pg_cron'
max_prepared_transactions = 100
max_connections = 100
max_worker_processes = 32
cron.database_name = '$DB'
cron.use_background_workers = on
timezone = 'UTC'
log_timezone = 'UTC'
fsync = off
EOF
  cat >"$scratch/$node/pg_hba.conf" <<EOF
local all all trust
host  all all 127.0.0.1/32 trust
EOF
  started+=("$node")
  "${AS_PG[@]}" "$BINDIR/pg_ctl" -D "$scratch/$node" -l "$scratch/$node.log" -w start >/dev/null
  psql_on "$(port_of "$i")" postgres -c "CREATE DATABASE $DB"
  psql_on "$(port_of "$i")" "$DB" -c "CREATE EXTENSION citus"
done

coord=$(port_of 0)
psql_on "$coord" "$DB" >/dev/null <<EOF
SET client_min_messages = warning;
SELECT citus_set_coordinator_host('127.0.0.1', $coord);
SELECT citus_add_node('127.0.0.1', $(port_of 1));
SELECT citus_add_node('127.0.0.1', $(port_of 2));
CREATE EXTENSION pg_cron;
CREATE EXTENSION pgtap;
CREATE EXTENSION usage_analytics;
EOF

mkdir -p test/citus/results
passed=0
failed=0
for t in "${TESTS[@]}"; do
  name=$(basename "$t" .sql)
  out=test/citus/results/$name.out
  echo "=== $name ==="
  # psql reads the file on stdin, after the shared preamble (test/citus/
  # setup.psql): the postgres OS user need not see the worktree.
  cat test/citus/setup.psql "$t" |
    "${AS_PG[@]}" "$BINDIR/psql" -X -v ON_ERROR_STOP=0 -h 127.0.0.1 -p "$coord" -d "$DB" \
    -v coordinator_port="$coord" -v worker1_port="$(port_of 1)" -v worker2_port="$(port_of 2)" \
    -v bindir="$BINDIR" -v scratch="$scratch" \
    >"$out" 2>&1 || true
  cat "$out"
  p=$(grep -cE '^ok [0-9]+' "$out" || true)
  f=$(grep -cE '^not ok [0-9]+' "$out" || true)
  planned=$(sed -nE 's/^1\.\.([0-9]+)$/\1/p' "$out" | head -n 1)
  if [ -z "$planned" ]; then
    f=$((f + 1))
    echo "citus-test: $name printed no plan (1..N): counted as one failure"
  elif [ $((p + f)) -lt "$planned" ]; then
    echo "citus-test: $name planned $planned tests but ran $((p + f)): $((planned - p - f)) counted as failed"
    f=$((planned - p))
  fi
  todo=$(grep -cE '^not ok [0-9]+.*# TODO' "$out" || true)
  echo "$name: $p passed, $f failed ($todo of them marked TODO)"
  passed=$((passed + p))
  failed=$((failed + f))
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
