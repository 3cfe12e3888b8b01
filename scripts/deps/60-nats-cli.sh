#!/usr/bin/env bash
# The NATS CLI (natscli), pinned: its `nats server check exporter` is the
# Prometheus exporter of the NATS servers (deploy/nats-exporter), which the
# cluster test runs beside its cluster and scrapes; and `nats consumer
# report`, which deploy/README.md shows operators. prometheus-nats-exporter
# and nats-surveyor are not served by this machine's Go module proxy nor
# packaged by Debian; natscli is (`go install`, from source). Installed into
# /usr/local/bin (root) or $(go env GOPATH)/bin. Quiet and quick when the
# pinned version is present.
set -euo pipefail
version=0.5.0
for bin in "$(command -v nats 2>/dev/null || true)" /usr/local/bin/nats "$(go env GOPATH)/bin/nats"; do
  if [ -n "$bin" ] && [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "v$version" ]; then
    exit 0
  fi
done
dest="$(go env GOPATH)/bin"
if [ -w /usr/local/bin ]; then dest=/usr/local/bin; fi
echo "60-nats-cli: go install github.com/nats-io/natscli/nats@v$version into $dest"
GOBIN="$dest" GOFLAGS=-mod=mod go install "github.com/nats-io/natscli/nats@v$version"
[ "$("$dest/nats" --version)" = "v$version" ]
