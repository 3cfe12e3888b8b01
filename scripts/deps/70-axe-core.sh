#!/usr/bin/env bash
# axe-core, the accessibility engine the browser tests inject into every
# page they visit (web/browser_test.go: zero violations at desktop and
# phone widths), exactly as web/testdata/axe/package-lock.json pins it;
# reinstalled when the lock file changes. Needs node and npm (installed by
# 20-ical-parsers.sh). Quiet and quick when present.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir="$here/web/testdata/axe"
stamp="$dir/node_modules/.jevents-lock.sha256"
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -f "$dir/node_modules/axe-core/axe.min.js" ]; then
  echo "70-axe-core: npm ci in web/testdata/axe"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
test -s "$dir/node_modules/axe-core/axe.min.js"
