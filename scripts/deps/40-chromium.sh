#!/usr/bin/env bash
# Debian's Chromium for the browser tests of the web pages (web/
# browser_test.go drives it with chromedp at /usr/bin/chromium), and fonts
# so that its screenshots show text. Quiet and quick when present.
set -euo pipefail
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive

missing=""
for p in chromium fonts-liberation fonts-dejavu-core; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "40-chromium: apt-get install$missing"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
fi

/usr/bin/chromium --version >/dev/null 2>&1
