#!/usr/bin/env bash
# axe-core, the accessibility engine the browser tests inject into every
# page they visit (web/browser_test.go: zero violations at desktop and
# phone widths), exactly as web/testdata/axe/package-lock.json pins it;
# reinstalled when the lock file changes. Needs node and npm (installed by
# 20-ical-parsers.sh). Quiet and quick when present.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/lib/deps.sh"
dir="$here/web/testdata/axe"
npm_ci_locked 70-axe-core "$dir" axe-core/axe.min.js
test -s "$dir/node_modules/axe-core/axe.min.js"
