#!/usr/bin/env bash
# Installs what the test suite drives, when it is missing. Idempotent; safe
# to run on a fresh Debian 12 machine as root (or with sudo).
set -euo pipefail
echo "install-test-deps: nothing to install yet"
