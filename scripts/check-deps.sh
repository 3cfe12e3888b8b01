#!/usr/bin/env bash
# Keeps dependencies pointing inward: the domain package imports nothing of
# ours, and producers and projections never import each other (nor a
# producer another producer).
set -euo pipefail
mod=$(go list -m)
fail=0
deps() { go list -deps "$1" 2>/dev/null | grep "^$mod/" | grep -vx "$1" || true; }

for d in $(deps "$mod/domain"); do
  echo "check-deps: domain imports $d"; fail=1
done
for p in $(go list ./producers/... ./projections/...); do
  kind=${p#"$mod/"}; kind=${kind%%/*}            # producers or projections
  for d in $(deps "$p"); do
    rel=${d#"$mod/"}
    case "$rel" in
      producers/*|projections/*)
        if [ "$kind" = producers ] || [ "${rel%%/*}" != "$kind" ]; then
          echo "check-deps: $p imports $d"; fail=1
        fi ;;
    esac
  done
done
exit $fail
