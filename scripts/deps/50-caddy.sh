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
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
echo "50-caddy: apt-get install caddy"
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends caddy >/dev/null
command -v caddy >/dev/null
