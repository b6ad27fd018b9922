#!/usr/bin/env bash
# The README's test command (make test): installs missing packages, builds
# and installs the extension, then runs every pg_regress (pgTAP) test and
# every isolation spec on temporary instances, as the postgres OS user in a
# scratch copy of the tree.  Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
PG_MAJOR=${PG_MAJOR:-15}
export PATH="/usr/lib/postgresql/$PG_MAJOR/bin:$PATH"

if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: it installs packages and the extension, then tests as postgres" >&2
  exit 2
fi
tools/install-deps.sh || exit 2

make -s clean >/dev/null
make -s ${COPT:+COPT="$COPT"} || { echo "0 passed, 1 failed"; exit 1; }
make -s install >/dev/null || { echo "0 passed, 1 failed"; exit 1; }

scratch=$(mktemp -d /tmp/usage_analytics-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cp -a . "$scratch/tree"
rm -rf "$scratch/tree/.git"
chown -R postgres "$scratch"

log="$scratch/out.log"
status=0
run() {
  runuser -u postgres -- make -C "$scratch/tree" -s "$@" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
}
run installcheck ISOLATION= TAP_TESTS=           # pg_regress / pgTAP
run installcheck REGRESS= TAP_TESTS=             # isolation specs
run installcheck REGRESS= ISOLATION=             # Perl TAP (prove)

# Keep the outputs in the tree for inspection (git-ignored).
rm -rf test/results test/isolation test/tap_check
cp -a "$scratch/tree/test/results" test/results 2>/dev/null
mkdir -p test/isolation && cp -a "$scratch/tree/test/isolation/." test/isolation/ 2>/dev/null
cp -a "$scratch/tree/tmp_check" test/tap_check 2>/dev/null
for f in "$scratch/tree/test/regression.diffs" "$scratch/tree/test/isolation/regression.diffs"; do
  [ -s "$f" ] && { echo "--- $f"; cat "$f"; }
done

# pg_regress and isolation: "test x ... ok"; prove: "test/t/x.pl .. ok".
passed=$(grep -cE '\.\.\. ok( |$)|^test/t/\S+\.pl \.+ ok$' "$log")
failed=$(grep -cE '\.\.\. FAILED|^test/t/\S+\.pl \(Wstat' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
