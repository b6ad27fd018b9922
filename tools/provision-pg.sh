#!/usr/bin/env bash
# A PostgreSQL of another major version for the tests, from Debian's package
# registry only: a minimal Debian chroot (debootstrap) of the suite that ships
# that major, with the server, its headers (PGXS), pgTAP, pg_cron, gcc/make
# and IPC::Run installed from Debian's binary packages.
#
#   tools/provision-pg.sh MAJOR            provision (once) and print the chroot
#   tools/provision-pg.sh --run MAJOR CMD  run CMD inside it (proc and /dev/shm
#                                          mounted for the duration)
#
# Run as root on Debian 12.  The chroot is cached outside the repository in
# $UA_PG_CACHE (default /var/cache/usage_analytics): a provisioned version is
# reused as is, with no download.  Safe to rerun after an interruption: the
# chroot is built in pgMAJOR.partial, moved into place only once verified,
# and a half-built one is resumed (apt) or started again (debootstrap, whose
# downloads are kept in debs/).
#
# Suites: 17 is Debian 13 "trixie" (stable), 18 is "forky" (testing; "sid"
# has the same packages).  UA_PG_SUITE overrides; DEBIAN_MIRROR picks the
# mirror (default: deb.debian.org).
set -euo pipefail

CACHE=${UA_PG_CACHE:-/var/cache/usage_analytics}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

die() { echo "provision-pg: $*" >&2; exit 1; }

run_mode=false
if [ "${1:-}" = --run ]; then run_mode=true; shift; fi
MAJOR=${1:-}
[ -n "$MAJOR" ] || die "usage: $0 [--run] MAJOR [CMD...]"
shift
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot)"

case "$MAJOR" in
  17) SUITE=${UA_PG_SUITE:-trixie} ;;
  18) SUITE=${UA_PG_SUITE:-forky} ;;
  *) die "no Debian suite known for PostgreSQL $MAJOR (15 is the machine's own: tools/install-deps.sh)" ;;
esac

PKGS="postgresql-$MAJOR postgresql-server-dev-$MAJOR postgresql-$MAJOR-pgtap postgresql-$MAJOR-cron
gcc make libc6-dev libipc-run-perl"
ROOT=$CACHE/pg$MAJOR
PART=$ROOT.partial
STAMP=.ua-provisioned
want_stamp="suite=$SUITE packages=$(echo $PKGS)"

# Everything mounted at or below $1, deepest first.
mounts_under() {
  awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
unmount_under() {
  local m
  for m in $(mounts_under "$1"); do umount "$m" 2>/dev/null || umount -l "$m"; done
  [ -z "$(mounts_under "$1")" ] || die "cannot unmount everything under $1"
}
# proc and a tmpfs /dev/shm (PostgreSQL's dynamic shared memory), our own.
mount_in() {
  mkdir -p "$1/proc" "$1/dev/shm"
  mount -t proc proc "$1/proc"
  mount -t tmpfs -o mode=1777 shm "$1/dev/shm"
}

mkdir -p "$CACHE"
exec 9>"$CACHE/pg$MAJOR.lock"
flock 9

if $run_mode; then
  [ -f "$ROOT/$STAMP" ] || die "PostgreSQL $MAJOR is not provisioned: run $0 $MAJOR"
  [ $# -gt 0 ] || die "--run needs a command"
  trap 'unmount_under "$ROOT"' EXIT
  unmount_under "$ROOT"
  mount_in "$ROOT"
  status=0
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@" || status=$?
  exit "$status"
fi

if [ -f "$ROOT/$STAMP" ] && [ "$(cat "$ROOT/$STAMP")" = "$want_stamp" ]; then
  echo "$ROOT"
  exit 0
fi

started=$(date +%s)
trap 'unmount_under "$PART"' EXIT
# A provisioned chroot whose package list changed is completed in place.
if [ -d "$ROOT" ]; then
  unmount_under "$ROOT"
  rm -rf --one-file-system "$PART"
  mv "$ROOT" "$PART"
  rm -f "$PART/$STAMP"
fi
unmount_under "$PART"

# 1. The base system (debootstrap from Debian 12's own package).
if [ ! -f "$PART/.ua-base" ]; then
  rm -rf --one-file-system "$PART"
  if ! command -v debootstrap >/dev/null; then
    echo "provision-pg: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  fi
  script=$SUITE
  [ -e "/usr/share/debootstrap/scripts/$SUITE" ] || script=sid   # newer than this debootstrap
  mkdir -p "$CACHE/debs/$SUITE"
  echo "provision-pg: debootstrap $SUITE into $PART" >&2
  debootstrap --variant=minbase --cache-dir="$CACHE/debs/$SUITE" \
    "$SUITE" "$PART" "$MIRROR" "/usr/share/debootstrap/scripts/$script" >&2
  touch "$PART/.ua-base"
fi

# 2. The packages, with no service started and no cluster created.
printf '#!/bin/sh\nexit 101\n' > "$PART/usr/sbin/policy-rc.d"
chmod 755 "$PART/usr/sbin/policy-rc.d"
mkdir -p "$PART/etc/postgresql-common"
echo "create_main_cluster = false" > "$PART/etc/postgresql-common/createcluster.conf"
cp -L /etc/resolv.conf "$PART/etc/resolv.conf" 2>/dev/null || true
# Testing and unstable Release files carry a Valid-Until; a mirror that is a
# frozen copy lets it lapse.  Signatures are still checked.
echo 'Acquire::Check-Valid-Until "false";' > "$PART/etc/apt/apt.conf.d/99usage-analytics"
mount_in "$PART"
in_part() {
  chroot "$PART" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
    DEBIAN_FRONTEND=noninteractive "$@"
}
echo "provision-pg: installing PostgreSQL $MAJOR from $SUITE" >&2
in_part dpkg --configure -a >&2
in_part apt-get update -qq >&2
# shellcheck disable=SC2086
in_part apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold $PKGS >&2

# 3. Check what the tests need, then move it into place.
in_part sh -ec "
  test \"\$(/usr/lib/postgresql/$MAJOR/bin/pg_config --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')\" = $MAJOR
  test -f /usr/include/postgresql/$MAJOR/server/postgres.h
  test -f /usr/share/postgresql/$MAJOR/extension/pgtap.control
  test -f /usr/share/postgresql/$MAJOR/extension/pg_cron.control
  test -f /usr/lib/postgresql/$MAJOR/lib/pgxs/src/test/perl/PostgreSQL/Test/Cluster.pm
  gcc --version >/dev/null && make --version >/dev/null && perl -MIPC::Run -e1 && command -v prove >/dev/null
  test -z \"\$(ls /etc/postgresql 2>/dev/null)\"
" >&2 || die "PostgreSQL $MAJOR in $PART lacks something the tests need"
in_part apt-get clean >&2
unmount_under "$PART"
echo "$want_stamp" > "$PART/$STAMP"
mv "$PART" "$ROOT"
trap - EXIT
echo "provision-pg: PostgreSQL $MAJOR ready in $ROOT ($(( $(date +%s) - started )) s)" >&2
echo "$ROOT"
