#!/usr/bin/env bash
# The README's test command (make test): on each tested PostgreSQL version,
# builds and installs the extension, then runs every pg_regress (pgTAP)
# test, every isolation spec and every Perl TAP test on temporary instances,
# as the postgres OS user in a scratch copy of the tree.  Run as root.
#
#   PostgreSQL 15   the machine's Debian packages (tools/install-deps.sh
#                   installs what is missing), or the one PG_CONFIG names
#   PostgreSQL 17   a Debian 13 "trixie" chroot  } tools/provision-pg.sh,
#   PostgreSQL 18   a Debian "forky" chroot      } cached in /var/cache
#
#   PG_VERSIONS="15 18"   the versions to test (default: 15 17 18; with
#                         PG_CONFIG set and PG_VERSIONS not: that one only)
#   PG_CONFIG=...         the pg_config of the version run on the host
#   COPT=-Werror          passed to the build (CI)
#
# Each version's output is headed "=== PostgreSQL N ===" and ends with
# "PostgreSQL N: N passed, N failed"; a version that does not build counts
# as one failure and the others still run.  Last line, over all versions:
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: it installs packages and the extension, then tests as postgres" >&2
  exit 2
fi

if [ -n "${PG_CONFIG:-}" ]; then
  HOST_MAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
  PG_VERSIONS=${PG_VERSIONS:-$HOST_MAJOR}
else
  HOST_MAJOR=15
  PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
  PG_VERSIONS=${PG_VERSIONS:-15 17 18}
fi
export PG_CONFIG

scratch=$(mktemp -d /tmp/usage_analytics-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
chown postgres "$scratch"

# The three suites, as the postgres OS user, in a tree it owns.  $1: the
# command prefix that runs a command as postgres; $2: that tree; $3: pg_config.
SUITES='
run() {
  $AS_POSTGRES make -C "$TREE" -s PG_CONFIG="$PGC" "$@" 2>&1
  [ $? -eq 0 ] || echo "suite-step-failed: $*"
}
run installcheck ISOLATION= TAP_TESTS=           # pg_regress / pgTAP
run installcheck REGRESS= TAP_TESTS=             # isolation specs
run installcheck REGRESS= ISOLATION=             # Perl TAP (prove)
'

# Extra test steps on version 15 only, after its suite, against the same
# installed build: the client examples (examples/run.sh: Python and Node
# drivers against a throwaway server, also through PgBouncer).  A
# step's output goes into that version's log: "test NAME ... ok" counts as
# passed, "test NAME ... FAILED" as failed, "suite-step-failed: NAME" as a
# failure when nothing else says so.
extra_steps_15() {
  EXAMPLES_NO_INSTALL=1 examples/run.sh "$PG_CONFIG" 2>&1 || echo "suite-step-failed: examples"
}

# Keep the outputs of one version for inspection (git-ignored): the host
# version in test/results, test/isolation and test/tap_check as before,
# another in test/pgN/.
keep_outputs() {					# $1: tree, $2: destination prefix
  rm -rf "$2results" "$2isolation" "$2tap_check"
  mkdir -p "$2isolation"
  cp -a "$1/test/results" "$2results" 2>/dev/null
  cp -a "$1/test/isolation/." "$2isolation/" 2>/dev/null
  cp -a "$1/tmp_check" "$2tap_check" 2>/dev/null
  for f in "$1/test/regression.diffs" "$1/test/isolation/regression.diffs"; do
    [ -s "$f" ] && { echo "--- $f"; cat "$f"; }
  done
}

# The host version: the worktree is built and installed, a copy is tested.
test_host() {
  local major=$1
  if [ "$major" = 15 ] && [ "$PG_CONFIG" = /usr/lib/postgresql/15/bin/pg_config ]; then
    PG_MAJOR=15 tools/install-deps.sh || { echo "suite-step-failed: install-deps"; return; }
  fi
  make -s clean PG_CONFIG="$PG_CONFIG" >/dev/null
  make -s PG_CONFIG="$PG_CONFIG" ${COPT:+COPT="$COPT"} 2>&1 || { echo "suite-step-failed: build"; return; }
  make -s install PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1 || { echo "suite-step-failed: install"; return; }
  local tree=$scratch/tree$major
  cp -a . "$tree"
  rm -rf "$tree/.git"
  chown -R postgres "$tree"
  AS_POSTGRES="runuser -u postgres --" TREE=$tree PGC=$PG_CONFIG bash -c "$SUITES"
  if [ "$major" = 15 ]; then extra_steps_15; fi
  keep_outputs "$tree" test/
}

# Another version: in its chroot, from a copy of the worktree.
test_chroot() {
  local major=$1 root
  root=$(tools/provision-pg.sh "$major") || { echo "suite-step-failed: provision"; return; }
  local dir=/tmp/ua-test.$$ pgc=/usr/lib/postgresql/$major/bin/pg_config
  rm -rf "$root$dir"
  mkdir -p "$root$dir/tree"
  tar -c --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude='*.d' \
      --exclude=./test/results --exclude=./test/isolation --exclude=./test/tap_check \
      --exclude='./test/pg[0-9]*' --exclude=./tmp_check . | tar -x -C "$root$dir/tree"
  tools/provision-pg.sh --run "$major" env COPT="${COPT:-}" DIR="$dir" PGC="$pgc" SUITES="$SUITES" sh -c '
    cd "$DIR/tree" || exit 1
    make -s PG_CONFIG="$PGC" ${COPT:+COPT="$COPT"} 2>&1 || { echo "suite-step-failed: build"; exit 0; }
    make -s install PG_CONFIG="$PGC" >/dev/null 2>&1 || { echo "suite-step-failed: install"; exit 0; }
    chown -R postgres "$DIR"
    AS_POSTGRES="runuser -u postgres --" TREE="$DIR/tree" bash -c "$SUITES"
  ' || echo "suite-step-failed: chroot"
  keep_outputs "$root$dir/tree" "test/pg$major/"
  rm -rf "$root$dir"
}

total_passed=0
total_failed=0
for major in $PG_VERSIONS; do
  log=$scratch/pg$major.log
  echo "=== PostgreSQL $major ==="
  if [ "$major" = "$HOST_MAJOR" ]; then
    test_host "$major" 2>&1 | tee "$log"
  else
    test_chroot "$major" 2>&1 | tee "$log"
  fi
  # pg_regress and isolation: "test x ... ok" (15, 16), "ok 1 - x" (17+);
  # prove: "test/t/x.pl .. ok", a failed file in the summary "(Wstat".
  passed=$(grep -cE '\.\.\. ok( |$)|^ok [0-9]+ +- |^test/t/\S+\.pl \.+ ok$' "$log")
  failed=$(grep -cE '\.\.\. FAILED|^not ok [0-9]+ +- |^test/t/\S+\.pl \(Wstat' "$log")
  if [ "$failed" -eq 0 ] && grep -q '^suite-step-failed: ' "$log"; then failed=1; fi
  echo "PostgreSQL $major: $passed passed, $failed failed"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
done
# The Citus cluster suite needs Citus, which Debian does not package: it is
# run by tools/citus-test.sh (README, "Scaling out with Citus"), never here.
if [ -f "$("$PG_CONFIG" --sharedir)/extension/citus.control" ]; then
  echo "Citus suite not run here: CITUS_PG_CONFIG=$PG_CONFIG tools/citus-test.sh runs it"
else
  echo "Citus suite skipped: Citus is not installed (tools/citus-test.sh runs it on a Citus installation)"
fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
