#!/usr/bin/env bash
# Installs what the test suite drives, when it is missing: each script in
# scripts/deps/ installs one kind of dependency (iCalendar parsers, a
# browser, Prometheus, …) and is idempotent. Runs on a fresh Debian 12
# machine as root (or with sudo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shopt -s nullglob
for s in "$here"/deps/*.sh; do
  echo "install-test-deps: $(basename "$s")"
  bash "$s"
done
