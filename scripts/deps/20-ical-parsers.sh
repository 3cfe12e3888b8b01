#!/usr/bin/env bash
# Independent iCalendar parsers for the interop tests of the feeds
# (internal/icalinterop): Mozilla's ical.js (npm, pinned by
# internal/icalinterop/checkers/package-lock.json), libical (Debian
# libical-dev; the test compiles its small checker) and Debian's
# python3-icalendar. Quiet and quick when everything is present.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
checkers="$here/internal/icalinterop/checkers"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive

pkgs="libical-dev pkg-config gcc libc6-dev python3 python3-icalendar"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
missing=""
for p in $pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "20-ical-parsers: apt-get install$missing"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
fi

# ical.js exactly as locked; reinstalled when the lock file changes.
stamp="$checkers/node_modules/.jevents-lock.sha256"
want=$(sha256sum "$checkers/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -f "$checkers/node_modules/ical.js/package.json" ]; then
  echo "20-ical-parsers: npm ci in internal/icalinterop/checkers"
  (cd "$checkers" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi

/usr/bin/python3 -c 'import icalendar'
pkg-config --exists libical
(cd "$checkers" && node --input-type=module -e 'import "ical.js"')
