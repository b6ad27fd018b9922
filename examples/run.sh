#!/usr/bin/env bash
# Runs the client examples (examples/python, examples/node) against a real
# server: a throwaway cluster on a free loopback port, drivers connecting
# over TCP with a password, as the README's recipe sets roles up; the
# end-user reads and the concurrent batches (python/batch_pool.py) run twice,
# directly and through PgBouncer in transaction mode (one server connection).
#
#   examples/run.sh [BINDIR | PG_CONFIG]     (as root; default: PG_CONFIG, or PostgreSQL 15)
#
# Installs what is missing (python3-psycopg, python3-psycopg-pool, pgbouncer,
# nodejs, npm; `npm ci` in examples/node), builds the extension for that server in
# a scratch copy of the tree and installs it (EXAMPLES_NO_INSTALL=1: use
# what is installed), runs the cluster as the postgres OS user and removes
# it.  Prints one line per example: "test example_python ... ok" or
# "... FAILED" (a failing example's output follows it; EXAMPLES_VERBOSE=1
# shows every example's checks); a setup failure fails both.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

examples=(example_python example_python_batch example_node)
fail_all() {
  for e in "${examples[@]}"; do echo "test $e ... FAILED"; done
  echo "    $*"
  exit 1
}

if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: it installs packages and the extension, then runs a cluster as postgres" >&2
  exit 2
fi
arg=${1:-${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}}
if [ -d "$arg" ]; then pg_config="$arg/pg_config"; else pg_config=$arg; fi
bindir=$("$pg_config" --bindir) || fail_all "no pg_config at $arg"

# Packages.
need=()
for p in python3-psycopg python3-psycopg-pool pgbouncer; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; } || fail_all "apt-get install ${need[*]} failed"
fi
node_setup=ok
if [ ! -d examples/node/node_modules ] || [ examples/node/package-lock.json -nt examples/node/node_modules ]; then
  if (cd examples/node && npm ci --no-audit --no-fund --loglevel=error); then
    touch examples/node/node_modules
  else
    node_setup="npm ci failed in examples/node"
  fi
fi

work=$(mktemp -d /tmp/usage_analytics-examples.XXXXXX)
chown postgres "$work"

# The extension, built for this server in a scratch copy of the tree.
if [ "${EXAMPLES_NO_INSTALL:-0}" != 1 ]; then
  mkdir "$work/tree"
  tar -C "$root" --exclude=.git --exclude=node_modules --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
      --exclude='*.d' --exclude=test/tmp_instance --exclude=test/tmp_isolation --exclude=tmp_check \
      --exclude=.demo -cf - . | tar -C "$work/tree" -xf -
  { make -C "$work/tree" -s -j2 PG_CONFIG="$pg_config" >"$work/build.log" 2>&1 &&
    make -C "$work/tree" -s install PG_CONFIG="$pg_config" >>"$work/build.log" 2>&1; } ||
    { cat "$work/build.log" >&2; rm -rf "$work"; fail_all "building the extension failed"; }
fi

# A throwaway cluster: local connections trusted, TCP with a password.
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() { runuser -u postgres -- "$@"; }
stop() {
  [ -s "$work/pgbouncer.pid" ] && kill "$(cat "$work/pgbouncer.pid")" 2>/dev/null && sleep 0.5
  as_pg "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1
  rm -rf "$work"
}
trap stop EXIT
as_pg "$bindir/initdb" -D "$work/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null \
  || fail_all "initdb failed"
as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1" start >/dev/null \
  || { cat "$work/server.log" >&2; fail_all "the server did not start"; }

psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres)
as_pg "${psql[@]}" -d postgres <<'SQL' >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; fail_all "setting up the database failed"; }
CREATE ROLE app LOGIN PASSWORD 'app-example-password';
CREATE ROLE authenticated NOLOGIN;
CREATE DATABASE examples;
\c examples
CREATE EXTENSION usage_analytics;
SELECT analytics.ensure_partitions();
-- The README's recipe: the backend records and acts for end users.
SELECT analytics.grant_app_backend('app');
SELECT analytics.grant_end_user('authenticated');
SELECT analytics.grant_act_as('app', 'authenticated');
-- A soft plan whose 80 % warning the examples cross.
INSERT INTO analytics.plans (plan_id, name, monthly_request_limit, enforcement, warn_thresholds)
VALUES ('examples', 'Examples', 10, 'soft', '{0.8}');
SQL

# PgBouncer in transaction mode in front of it, with one server connection.
bport=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/pgbouncer.ini" <<INI
[databases]
examples = host=127.0.0.1 port=$port dbname=examples
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 50
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
echo '"app" "app-example-password"' >"$work/userlist.txt"
chown postgres "$work/pgbouncer.ini" "$work/userlist.txt"
as_pg /usr/sbin/pgbouncer -q -d "$work/pgbouncer.ini" || { cat "$work/pgbouncer.log" >&2; fail_all "pgbouncer did not start"; }

export UA_PGBOUNCER_PORT=$bport
export PGHOST=127.0.0.1 PGPORT=$port PGDATABASE=examples PGUSER=app PGPASSWORD=app-example-password
unset PGSERVICE PGSSLMODE
failed=0
run_example() {
  local name=$1; shift
  local log="$work/$name.log"
  if (cd "$root/examples" && timeout 300 "$@") >"$log" 2>&1; then
    echo "test $name ... ok"
    [ "${EXAMPLES_VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$log"
  else
    echo "test $name ... FAILED"
    sed 's/^/    /' "$log"
    failed=1
  fi
}
run_example example_python /usr/bin/python3 python/example.py
run_example example_python_batch /usr/bin/python3 python/batch_pool.py
if [ "$node_setup" = ok ]; then
  run_example example_node node node/example.js
else
  echo "test example_node ... FAILED"
  echo "    $node_setup"
  failed=1
fi
exit $failed
