# The two commands a newcomer needs are `go run ./cmd/jevents` (the service on
# an embedded NATS server) and `make test` (every test, installing what the
# tests need when it is missing). .ci/run calls `make test`.

GO ?= go

.PHONY: test test-deps check run test-cluster test-flood bench-feeds bench-intake

run:
	$(GO) run ./cmd/jevents

test: test-deps check test-flood
	$(GO) test -race -timeout 30m ./...

# Issue 10's attacks on a started service (the real binary): floods of
# submissions and .ics files, idle connections, unique queries and wrong
# tokens from several loopback addresses, then the editors' clean-up; it
# checks the limits hold and logs the figures of docs/performance.md
# (about 3 minutes; without the race detector, so the memory figures mean
# something).
test-flood:
	$(GO) test -tags flood -count=1 -timeout 10m -run TestFlood -v ./cmd/jevents/

# The cluster tests alone: a 3-node NATS cluster with TLS and nkeys, every
# role as its own process, permissions, Caddy in front (HTTP and Chromium
# through it), the NATS exporter, Prometheus and the dashboard's queries,
# failover; and the password configuration compose runs (README: Running
# on a cluster).
test-cluster: test-deps
	$(GO) test -race -count=1 -run TestCluster -v ./cmd/jevents/

# Installs, when missing, the programs the interop, browser, Prometheus and
# cluster tests drive: independent iCalendar parsers, Chromium, Prometheus,
# Caddy, the NATS CLI.
test-deps:
	./scripts/install-test-deps.sh

# Static checks: formatting, vet, and the dependency rules of the README's
# Folders section (scripts/check-deps.sh), with the checker's own test: it
# must refuse each of a set of bad imports on a copy of the module.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	./scripts/check-deps.sh
	./scripts/check-deps-test.sh

# Issue 16's feeds benchmark, never part of `make test`: the service's
# /calendar.ics and the same bytes from Debian's nginx-light, side by side
# in one run under wrk (full answers and 304s, 1k and 10k conferences);
# installs nginx-light and wrk (pinned) when missing. Figures and the load
# average at the time go into docs/performance.md.
bench-feeds:
	./scripts/bench-deps/10-nginx-wrk.sh
	$(GO) test -tags flood -run '^$$' -bench FeedsBesideNginx -benchtime 1x -timeout 30m -v ./cmd/jevents/

# Issue 16's intake benchmark, never part of `make test`: wrk posting
# submissions (a Lua script, each a different conference and contact) to
# the real binary on its embedded server, against raw JetStream sync
# publishing to a stream of the same server, in one run (8 and 64
# connections). Installs wrk (pinned) when missing.
bench-intake:
	./scripts/bench-deps/10-nginx-wrk.sh
	$(GO) test -tags flood -run '^$$' -bench IntakeUnderWrk -benchtime 1x -timeout 30m -v ./cmd/jevents/
