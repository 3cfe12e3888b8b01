#!/usr/bin/env bash
# The independent checkers of the syndication tests (internal/syndcheck):
# Debian's python3-feedparser for RSS and Atom; from npm, pinned by
# internal/syndcheck/checkers/package-lock.json: ajv with the JSON Feed 1.1
# schema (jsonfeed-schema), schema-dts and TypeScript for schema.org
# JSON-LD, and standardwebhooks (the Standard Webhooks reference
# implementation) for the webhook receiver. Quiet and quick when present.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/lib/deps.sh"
checkers="$here/internal/syndcheck/checkers"

missing=$(apt_missing python3 python3-feedparser)$(node_packages_needed)
if [ -n "$missing" ]; then apt_install 70-syndication $missing; fi
npm_ci_locked 70-syndication "$checkers" standardwebhooks/package.json

/usr/bin/python3 -c 'import feedparser'
(cd "$checkers" && node --input-type=module -e 'import "ajv"; import "standardwebhooks"')
