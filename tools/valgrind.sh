#!/usr/bin/env bash
# Runs the pg_regress suite once against a server running under valgrind
# (memcheck, every backend traced), then reports the errors valgrind found in
# any backend.  Slow: expect 20-40 minutes.  Run as root (like make test):
#   tools/valgrind.sh
# Leaves the logs in /tmp/usage_analytics-valgrind/logs.  Exit status 0 and
# the line "valgrind: 0 errors" when memcheck found nothing.
#
# Debian's server is not built with USE_VALGRIND, so memcheck sees whole
# palloc blocks, not single chunks: it catches reads of uninitialised memory,
# overruns past malloc'd blocks and invalid frees, not every overrun inside a
# memory context.  tools/valgrind.supp silences the known, harmless reports
# of PostgreSQL itself (padding bytes written to files and sockets).
set -uo pipefail
cd "$(dirname "$0")/.."
PG_MAJOR=${PG_MAJOR:-15}
bin=/usr/lib/postgresql/$PG_MAJOR/bin
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
tools/install-deps.sh || exit 2
command -v valgrind >/dev/null || apt-get install -y -q valgrind >/dev/null || exit 2
make -s && make -s install >/dev/null || exit 1

work=/tmp/usage_analytics-valgrind
rm -rf "$work" && mkdir -p "$work/logs" && cp -a . "$work/tree" && rm -rf "$work/tree/.git"
chown -R postgres "$work"
as_pg() { runuser -u postgres -- "$@"; }
as_pg "$bin/initdb" -D "$work/data" -A trust >/dev/null || exit 1
cat >> "$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = 55499
fsync = off
max_connections = 20
timezone = 'UTC'
CONF
as_pg valgrind --quiet --trace-children=yes --track-origins=yes --read-var-info=no \
  --leak-check=no --num-callers=30 --error-limit=no \
  --suppressions="$PWD/tools/valgrind.supp" --log-file="$work/logs/%p.log" \
  "$bin/postgres" -D "$work/data" >"$work/server.log" 2>&1 &
for i in $(seq 1 120); do
  as_pg "$bin/pg_isready" -q -h "$work" -p 55499 && break
  sleep 2
done

as_pg make -C "$work/tree" -s installcheck ISOLATION= TAP_TESTS= \
  REGRESS_OPTS="--inputdir=test --outputdir=test --load-extension=pgtap --host=$work --port=55499" \
  2>&1 | tee "$work/regress.log"
as_pg "$bin/pg_ctl" -D "$work/data" -m fast stop >/dev/null

# An error report is a block of lines from its first line to the next blank
# one; count all of them, and those with this extension's library in the stack.
count() {
  awk -v want="$1" '
    /^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination)/ { inblk = 1; ours = 0; next }
    inblk && /usage_analytics\.so/ { ours = 1 }
    inblk && /^==[0-9]+== $/ { n += (want == "all" || ours); inblk = 0 }
    END { print n + 0 }' "$work"/logs/*.log
}
errors=$(count all)
ours=$(count ours)
echo "valgrind: $errors errors, $ours with usage_analytics.so in the stack (logs in $work/logs)"
[ "$errors" -eq 0 ]
