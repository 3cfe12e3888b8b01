#!/usr/bin/env bash
# Independent iCalendar parsers for the interop tests of the feeds
# (internal/icalinterop): Mozilla's ical.js (npm, pinned by
# internal/icalinterop/checkers/package-lock.json), libical (Debian
# libical-dev; the test compiles its small checker) and Debian's
# python3-icalendar. Quiet and quick when everything is present.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/lib/deps.sh"
checkers="$here/internal/icalinterop/checkers"

missing=$(apt_missing libical-dev pkg-config gcc libc6-dev python3 python3-icalendar)$(node_packages_needed)
if [ -n "$missing" ]; then apt_install 20-ical-parsers $missing; fi
# ical.js exactly as locked; reinstalled when the lock file changes.
npm_ci_locked 20-ical-parsers "$checkers" ical.js/package.json

/usr/bin/python3 -c 'import icalendar'
pkg-config --exists libical
(cd "$checkers" && node --input-type=module -e 'import "ical.js"')
