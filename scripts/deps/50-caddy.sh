#!/usr/bin/env bash
# Debian's Caddy, the reverse proxy of deploy/caddy/Caddyfile: the cluster
# test (cmd/jevents/cluster_test.go) and the browser test through the proxy
# start the same Caddyfile with this binary in front of the roles. Its
# maintainer scripts would start a system-wide Caddy on :80; the tests start
# their own on free ports, so the install keeps the service from starting
# (policy-rc.d) where an init system runs. Quiet and quick when present.
set -euo pipefail
if command -v caddy >/dev/null 2>&1; then
  exit 0
fi
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/lib/deps.sh"
apt_install_no_start 50-caddy caddy
command -v caddy >/dev/null
