#!/usr/bin/env bash
# curl, for the test that runs README's "Try it" commands as written
# (cmd/jevents/readme_test.go). Quiet and quick when present.
set -euo pipefail
if command -v curl >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive
echo "10-curl: apt-get install curl"
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends curl ca-certificates >/dev/null
command -v curl >/dev/null
