#!/usr/bin/env bash
# Debian's nginx-light and wrk, for `make bench-feeds` only (never for
# `make test`): the feeds benchmark serves the same bytes from nginx beside
# the service and loads both with wrk in one run. Pinned to Debian 12's
# versions (override with NGINX_LIGHT_VERSION / WRK_VERSION when Debian's
# security updates move them). Nginx's maintainer scripts would start a
# system-wide nginx on :80; the benchmark starts its own, so the install
# keeps the service from starting (policy-rc.d). Quiet and quick when present.
set -euo pipefail
nginx_version=${NGINX_LIGHT_VERSION:-1.22.1-9+deb12u12}
wrk_version=${WRK_VERSION:-4.1.0-3+b2}
if { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } && command -v wrk >/dev/null 2>&1; then
  exit 0
fi
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/lib/deps.sh"
apt_install_no_start bench-deps "nginx-light=$nginx_version" "wrk=$wrk_version"
command -v wrk >/dev/null
