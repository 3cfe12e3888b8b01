#!/usr/bin/env bash
# Keeps the import graph the shape the README's "Folders" section states:
# dependencies point inward, producers → log → projectors → read models →
# HTTP, and only cmd/ joins the pieces. Each rule below is one sentence of
# that section; change both together.
#
#   check-deps.sh [MODULE_DIR]     (default: this repository)
#
# Exit status 0 when every rule holds, 1 naming each broken one (and when
# the packages cannot be listed). scripts/check-deps-test.sh proves that it
# fails on bad imports. Only non-test code is checked: tests may boot the
# whole service or append events to feed a projection.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
mod=$(go list -m)
graph=$(go list -f '{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}' ./...) || {
  echo "check-deps: go list failed"; exit 1; }

# layer names the folder a package of ours belongs to (README: Folders).
layer() {
  case "$1" in
    cmd/jevents/service) echo root ;;
    cmd/*) echo cmd ;;
    domain) echo domain ;;
    eventlog) echo eventlog ;;
    eventlog/*) echo logreader ;;
    httpapi) echo httpapi ;;
    ical) echo ical ;;
    internal/*) echo internal ;;
    producers/*) echo producer ;;
    projections/*) echo projection ;;
    reactors/*) echo reactor ;;
    web) echo web ;;
    *) echo unknown ;;
  esac
}

fail=0
bad() { echo "check-deps: $1"; fail=1; }

while IFS='|' read -r pkg imports deps; do
  p=${pkg#"$mod/"}
  [ "$p" = "$pkg" ] && continue # not ours
  l=$(layer "$p")
  if [ "$l" = unknown ]; then
    bad "$p is in no folder of README's Folders: add it there and give it a rule here"
    continue
  fi
  # Transitive dependencies of ours: what the package can reach.
  for d in $deps; do
    r=${d#"$mod/"}
    [ "$r" = "$d" ] && continue
    dl=$(layer "$r")
    case "$l:$dl" in
      domain:*)
        bad "$p imports $r: the domain imports nothing of ours" ;;
      internal:internal) ;;
      internal:*)
        bad "$p imports $r: internal/ is leaf plumbing and imports nothing outside internal/" ;;
      ical:*)
        bad "$p imports $r: ical imports nothing of ours" ;;
      eventlog:domain | eventlog:internal | httpapi:domain | httpapi:internal) ;;
      eventlog:*)
        bad "$p imports $r: eventlog imports only the domain and internal/ (it knows nothing of HTTP or read models)" ;;
      httpapi:*)
        bad "$p imports $r: httpapi imports only the domain and internal/" ;;
      producer:producer)
        bad "$p imports $r: a producer never imports another producer" ;;
      producer:projection | projection:producer)
        bad "$p imports $r: producers and projections never import each other" ;;
      projection:eventlog | projection:logreader)
        bad "$p imports $r: projections never import the event log (the engine consumes the stream itself)" ;;
      reactor:producer)
        bad "$p imports $r: a reactor never imports a producer (it appends its own events through the log)" ;;
      reactor:reactor)
        bad "$p imports $r: a reactor never imports another reactor" ;;
      producer:reactor | projection:reactor | logreader:reactor | web:reactor)
        bad "$p imports $r: nothing but the composition root imports a reactor" ;;
      logreader:producer | logreader:projection)
        bad "$p imports $r: the log's readers import no producer and no projection" ;;
      *:root | *:cmd)
        [ "$l" = cmd ] || bad "$p imports $r: only cmd/ imports the composition root" ;;
      *:web)
        [ "$l" = cmd ] || [ "$l" = root ] || bad "$p imports $r: only the composition root imports web" ;;
    esac
  done
  # Direct imports: web reaches the log through producers only.
  if [ "$l" = web ]; then
    for d in $imports; do
      r=${d#"$mod/"}
      case "$(layer "$r")" in
        eventlog | logreader) [ "$r" = "$d" ] || bad "$p imports $r: web appends and reads through the producers, never the event log itself" ;;
      esac
    done
  fi
done <<<"$graph"
exit $fail
