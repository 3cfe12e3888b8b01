package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
)

// healthcheck is the command containers run as their health check
// (deploy/Dockerfile's HEALTHCHECK, docker-compose.yml): it asks the
// operators' listener of the `jevents serve` beside it and exits 0 when
// the answer is 200, 1 otherwise, printing what the process said.
//
// Which endpoint, decided: /readyz by default. A container's health is
// what `depends_on: condition: service_healthy` waits for and what an
// operator reads in `docker compose ps`; "healthy" should mean "serves
// what its role serves" (read models loaded, the event log reachable),
// which is /readyz. A process that is degraded (a full log, no projector
// moving its model) still answers 200 there, so it stays healthy and keeps
// serving reads. --live asks /healthz instead (the process runs and is
// connected to NATS): the probe for an orchestrator that restarts what
// fails it, where restarting a process that merely waits for NATS or for
// the stream would not help.
//
// It reads the same --metrics-listen (JEVENTS_METRICS_LISTEN) as serve, so
// in the image, where the variable is set, it needs no argument; an
// address on every interface (0.0.0.0, ::) is asked on loopback.
func healthcheck(ctx context.Context, args []string, stdout io.Writer) error {
	f := newCmd(healthcheckSpec, stdout)
	var (
		listen  string
		live    bool
		timeout time.Duration
	)
	f.checkedVar(&listen, "metrics-listen", "127.0.0.1:9180", "the operators' listener of the process to check, as given to serve",
		func(s string) error {
			if s == "-" {
				return fmt.Errorf("the process has no operators' listener to ask")
			}
			return service.CheckHTTPAddr(s)
		})
	f.env("metrics-listen", "JEVENTS_METRICS_LISTEN")
	f.BoolVar(&live, "live", false, "ask /healthz (alive and connected) instead of /readyz (ready to serve)")
	f.DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	if err := f.parse(args); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(listen) // checked when set
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	path := "/readyz"
	if live {
		path = "/healthz"
	}
	u := "http://" + net.JoinHostPort(host, port) + path
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", u, resp.Status, msg)
	}
	fmt.Fprintf(stdout, "%s: %s\n", path, msg)
	return nil
}
