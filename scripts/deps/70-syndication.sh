#!/usr/bin/env bash
# The independent checkers of the syndication tests (internal/syndcheck):
# Debian's python3-feedparser for RSS and Atom; from npm, pinned by
# internal/syndcheck/checkers/package-lock.json: ajv with the JSON Feed 1.1
# schema (jsonfeed-schema), schema-dts and TypeScript for schema.org
# JSON-LD, and standardwebhooks (the Standard Webhooks reference
# implementation) for the webhook receiver. Quiet and quick when present.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
checkers="$here/internal/syndcheck/checkers"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive

pkgs="python3 python3-feedparser"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
missing=""
for p in $pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "70-syndication: apt-get install$missing"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
fi

stamp="$checkers/node_modules/.jevents-lock.sha256"
want=$(sha256sum "$checkers/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -f "$checkers/node_modules/standardwebhooks/package.json" ]; then
  echo "70-syndication: npm ci in internal/syndcheck/checkers"
  (cd "$checkers" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi

/usr/bin/python3 -c 'import feedparser'
(cd "$checkers" && node --input-type=module -e 'import "ajv"; import "standardwebhooks"')
