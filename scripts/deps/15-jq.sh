#!/usr/bin/env bash
# jq, for README's "Try it" mail flow, which reads what arrived in mailpit
# through its HTTP API with curl and jq (cmd/jevents/readme_test.go runs it
# as written). Debian's jq. Quiet and quick when present.
set -euo pipefail
if command -v jq >/dev/null 2>&1; then
  exit 0
fi
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/lib/deps.sh"
apt_install 15-jq jq
command -v jq >/dev/null
