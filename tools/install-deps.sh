#!/usr/bin/env bash
# Installs the Debian packages the build, the demo and the tests on the
# machine's own PostgreSQL (15) need, when they are missing.  Needs root
# (apt-get); does nothing when all are present.  17 and 18 come from
# tools/provision-pg.sh instead.
set -euo pipefail
PG_MAJOR=${PG_MAJOR:-15}
pkgs=(make gcc "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" "postgresql-$PG_MAJOR-pgtap"
      "postgresql-$PG_MAJOR-cron" libipc-run-perl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
