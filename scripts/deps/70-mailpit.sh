#!/usr/bin/env bash
# mailpit, pinned: the real SMTP server of the notifier's tests
# (reactors/notify, cmd/jevents mail tests). They start it as a process on
# free ports and read what arrived through its HTTP API. Installed from
# source through the Go module proxy (`go install`) into /usr/local/bin
# (root) or $(go env GOPATH)/bin. Quiet and quick when the pinned version is
# present.
set -euo pipefail
version=1.33.1
for bin in "$(command -v mailpit 2>/dev/null || true)" /usr/local/bin/mailpit "$(go env GOPATH)/bin/mailpit"; do
  # `go install` leaves its version string "dev": the module version
  # stamped in the binary says which it is.
  if [ -n "$bin" ] && [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -Eq "^\s+mod\s+github.com/axllent/mailpit\s+v$version\s"; then
    exit 0
  fi
done
dest="$(go env GOPATH)/bin"
if [ -w /usr/local/bin ]; then dest=/usr/local/bin; fi
echo "70-mailpit: go install github.com/axllent/mailpit@v$version into $dest"
GOBIN="$dest" GOFLAGS=-mod=mod go install "github.com/axllent/mailpit@v$version"
go version -m "$dest/mailpit" | grep -Eq "^\s+mod\s+github.com/axllent/mailpit\s+v$version\s"
