// Command jevents is Justice Events in one binary: `jevents serve` runs the
// service (on an embedded NATS server by default, or as any subset of the
// intake, editors, projector and feeds roles against a NATS cluster), `jevents
// setup` prepares a cluster, and the other commands submit, moderate and
// maintain it from a shell.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // IANA zones for timed conferences, also in scratch images
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
