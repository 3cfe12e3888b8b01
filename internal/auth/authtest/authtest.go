// Package authtest builds real editors' gates for tests: tokens, a
// generated server secret and the sessions bucket on the test's own
// nats-server, as the service builds them.
package authtest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/serversecret"
)

// Gate returns a gate that knows the editors of tokens ("name:token" or
// "token" lines, as a tokens file holds them), recording sessions in the
// sessions bucket of js (created when missing).
func Gate(t testing.TB, js jetstream.JetStream, tokens ...string) *auth.Gate {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	if err := os.WriteFile(path, []byte(strings.Join(tokens, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	src, err := auth.OpenTokensFile(path, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.EnsureSessionBucket(context.Background(), js, 1); err != nil {
		t.Fatal(err)
	}
	keys, err := serversecret.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := auth.NewGate(auth.GateConfig{Sources: []auth.Source{src}, Sessions: auth.NewKVSessions(js), Secret: keys, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return g
}
