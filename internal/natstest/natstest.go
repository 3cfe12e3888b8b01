// Package natstest starts real embedded nats-servers for tests: JetStream
// on a random loopback port with its store in the test's temporary
// directory, shut down when the test ends.
package natstest

import (
	"context"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/internal/embednats"
)

// Server starts an embedded server whose store lives in dir.
func Server(t testing.TB, dir string) *server.Server {
	t.Helper()
	ns, err := embednats.Start(context.Background(), embednats.Config{StoreDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}

// Connect opens a connection to ns that is drained when the test ends.
func Connect(t testing.TB, ns *server.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// Start is Server and Connect on a fresh temporary store.
func Start(t testing.TB) (*server.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	ns := Server(t, t.TempDir())
	nc, js := Connect(t, ns)
	return ns, nc, js
}
