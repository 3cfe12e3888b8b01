package embednats_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/justiceevents/jevents/internal/embednats"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	c, created, err := embednats.EnsureCredentials(dir)
	if err != nil || !created {
		t.Fatalf("first: %v %v", created, err)
	}
	fi, err := os.Stat(c.SeedFile)
	if err != nil || fi.Mode().Perm() != 0o600 || !filepath.IsAbs(c.SeedFile) {
		t.Fatalf("seed file %s: %v %v", c.SeedFile, fi.Mode(), err)
	}
	if err := os.Chmod(c.SeedFile, 0o644); err != nil {
		t.Fatal(err)
	}
	again, created, err := embednats.EnsureCredentials(dir)
	if err != nil || created || again != c {
		t.Fatalf("second: %+v %v %v, want %+v", again, created, err, c)
	}
	if fi, _ := os.Stat(c.SeedFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("a seed readable by others stays so: %v", fi.Mode())
	}

	if _, err := embednats.ReadContext(dir); !errors.Is(err, embednats.ErrNoContext) {
		t.Fatalf("no context yet: %v", err)
	}
	path, err := embednats.WriteContext(dir, "nats://127.0.0.1:4222", c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := embednats.ReadContext(dir)
	if err != nil || got.URL != "nats://127.0.0.1:4222" || got.NKey != c.SeedFile {
		t.Fatalf("context: %+v %v", got, err)
	}
	if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("SU")) {
		t.Errorf("the context file holds the seed: %s", b)
	}
	if _, err := embednats.WriteContext(dir, "", c); err != nil {
		t.Fatal(err)
	}
	if _, err := embednats.ReadContext(dir); !errors.Is(err, embednats.ErrNoContext) {
		t.Fatalf("a server on no port leaves no context: %v", err)
	}
}

func TestOnlyTheUserConnects(t *testing.T) {
	dir := t.TempDir()
	c, _, err := embednats.EnsureCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := embednats.Start(context.Background(), embednats.Config{StoreDir: filepath.Join(dir, "nats"), Listen: "127.0.0.1:0", UserNKey: c.Public})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	if nc, err := nats.Connect(ns.ClientURL(), nats.NoReconnect()); !errors.Is(err, nats.ErrAuthorization) {
		if nc != nil {
			nc.Close()
		}
		t.Fatalf("without credentials: %v", err)
	}
	opt, err := c.Option()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL(), opt)
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

// TestStartSaysWhy: a server that cannot start says so at once, in the
// error and in the log, instead of waiting out a timeout.
func TestStartSaysWhy(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var logs logBuffer
	began := time.Now()
	_, err = embednats.Start(context.Background(), embednats.Config{StoreDir: t.TempDir(), Listen: taken.Addr().String(),
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start on a taken port: %v", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "address already in use") || !strings.Contains(out, "component=nats-server") {
		t.Errorf("the server's error is not in the log:\n%s", out)
	}
	if strings.Contains(logs.String(), "Starting nats-server") {
		t.Errorf("notices reach the info level:\n%s", logs.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := embednats.Start(ctx, embednats.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:0"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("start with an ended context: %v", err)
	}
}

func TestCheckListen(t *testing.T) {
	for in, ok := range map[string]bool{"-": true, "127.0.0.1:4222": true, "127.0.0.1:0": true, "[::1]:4222": true,
		"bad": false, "127.0.0.1:x": false, ":4222": false, "127.0.0.1:70000": false, "": false} {
		if err := embednats.CheckListen(in); (err == nil) != ok {
			t.Errorf("CheckListen(%q) = %v", in, err)
		}
	}
}
