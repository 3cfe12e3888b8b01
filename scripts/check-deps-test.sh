#!/usr/bin/env bash
# The dependency checker's own test (make check, so make test): on a copy
# of the module it must pass as the code is, and fail, naming the rule, on
# each of a set of bad imports, one at a time. Each bad import is a file
# added to a package of the copy; none makes an import cycle, so each
# fails for the rule it breaks and not because the copy cannot build.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mod=$(cd "$repo" && go list -m)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The module's files (go list reads the Go files and what they embed).
(cd "$repo" && { git ls-files -co --exclude-standard 2>/dev/null || find . -path ./.git -prune -o -type f -print; } |
  while read -r f; do [ -f "$f" ] && echo "$f"; done | tar -cf - -T -) | tar -xf - -C "$tmp"

if ! out=$("$repo/scripts/check-deps.sh" "$tmp" 2>&1); then
  echo "check-deps-test: the checker refuses the code as it is:"; echo "$out"; exit 1
fi

fail=0
layouts=2 # the two cases at the end, and each expect
# expect PACKAGE_DIR IMPORT WORDS: with PACKAGE_DIR importing IMPORT, the
# checker must fail and say WORDS.
expect() {
  local dir=$1 imp=$2 words=$3 pkg f
  layouts=$((layouts + 1))
  pkg=$(basename "$dir") # a new package, when dir is not one yet
  [ -d "$tmp/$dir" ] && pkg=$(cd "$tmp" && go list -f '{{.Name}}' "./$dir")
  f="$tmp/$dir/zz_checkdeps_bad.go"
  mkdir -p "$tmp/$dir"
  printf 'package %s\n\nimport _ "%s/%s"\n' "$pkg" "$mod" "$imp" >"$f"
  if out=$("$repo/scripts/check-deps.sh" "$tmp" 2>&1); then
    echo "check-deps-test: $dir importing $imp passed the checker"; fail=1
  elif ! grep -q -- "$words" <<<"$out"; then
    echo "check-deps-test: $dir importing $imp failed, but not for \"$words\":"; echo "$out"; fail=1
  fi
  rm -f "$f"
  rmdir "$tmp/$dir" 2>/dev/null || true
}

expect domain internal/ratelimit "the domain imports nothing of ours"
expect internal/ratelimit domain "internal/ is leaf plumbing"
expect internal/httpcache httpapi "internal/ is leaf plumbing"
expect ical domain "ical imports nothing of ours"
expect eventlog projections/engine "eventlog imports only the domain and internal/"
expect eventlog httpapi "eventlog imports only the domain and internal/"
expect httpapi eventlog "httpapi imports only the domain and internal/"
expect producers/moderation producers/resources "a producer never imports another producer"
expect producers/moderation projections/review "producers and projections never import each other"
expect projections/calendar producers/intake "producers and projections never import each other"
expect projections/feeds eventlog "projections never import the event log"
expect reactors/notify producers/moderation "a reactor never imports a producer"
expect reactors/zzother reactors/notify "a reactor never imports another reactor"
expect producers/intake reactors/notify "nothing but the composition root imports a reactor"
expect projections/engine eventlog/history "projections never import the event log"
expect eventlog/history projections/calendar "the log's readers import no producer and no projection"
expect reactors/webhooks producers/resources "a reactor never imports a producer"
expect reactors/zzbad reactors/webhooks "a reactor never imports another reactor"
expect producers/resources reactors/webhooks "nothing but the composition root imports a reactor"
expect eventlog/history reactors/webhooks "nothing but the composition root imports a reactor"
expect web reactors/webhooks "nothing but the composition root imports a reactor"
expect producers/resources web "only the composition root imports web"
# (a new producer: any package the composition root imports would make a cycle)
expect producers/zzbad cmd/jevents/service "only cmd/ imports the composition root"
expect web eventlog "web appends and reads through the producers"

# A package in a folder the README does not list.
mkdir -p "$tmp/newplace"
printf 'package newplace\n' >"$tmp/newplace/newplace.go"
if out=$("$repo/scripts/check-deps.sh" "$tmp" 2>&1) || ! grep -q "in no folder of README's Folders" <<<"$out"; then
  echo "check-deps-test: a package outside every folder passed: $out"; fail=1
fi
rm -rf "$tmp/newplace"

# A module that cannot be listed fails, rather than passing unchecked.
printf 'package domain\n\nimport _ "%s/nosuchpackage"\n' "$mod" >"$tmp/domain/zz_checkdeps_bad.go"
if "$repo/scripts/check-deps.sh" "$tmp" >/dev/null 2>&1; then
  echo "check-deps-test: a module that does not build passed"; fail=1
fi

[ $fail = 0 ] && echo "check-deps-test: ok (the checker passes the code and refuses $layouts bad layouts)"
exit $fail
