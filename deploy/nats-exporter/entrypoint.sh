#!/bin/sh
# Writes the exporter's NATS contexts (checks.yml names them) from the
# environment, then runs the exporter. The passwords are letters and
# digits (deploy/README.md), so they need no JSON escaping.
set -eu
: "${NATS_URL:?the NATS servers, e.g. nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222}"
: "${NATS_SYS_PASSWORD:?the sys user's password}"
: "${NATS_MONITOR_PASSWORD:?the monitor user's password}"
work=/tmp/nats-exporter
mkdir -p "$work/contexts"
umask 077
printf '{"url": "%s", "user": "sys", "password": "%s"}\n' "$NATS_URL" "$NATS_SYS_PASSWORD" >"$work/contexts/sys.json"
printf '{"url": "%s", "user": "monitor", "password": "%s", "inbox_prefix": "_INBOX.monitor"}\n' "$NATS_URL" "$NATS_MONITOR_PASSWORD" >"$work/contexts/monitor.json"
cd "$work"
exec nats server check exporter --config /etc/nats-exporter/checks.yml --port "${EXPORTER_PORT:-7777}"
