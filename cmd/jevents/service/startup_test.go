package service_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/dirlock"
	"github.com/justiceevents/jevents/internal/embednats"
)

// tryStart boots a service on dir and returns its Start error (nil: it
// runs, and is closed when the test ends).
func tryStart(t *testing.T, ctx context.Context, cfg service.Config, log *slog.Logger) error {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := service.New(cfg, log)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		s.Close()
		return err
	}
	t.Cleanup(func() { s.Close() })
	return nil
}

func baseConfig(dir string) service.Config {
	return service.Config{DataDir: dir, NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test", EditorToken: editorToken}
}

// TestOneOwnerPerDataDir: a second service on a data directory in use
// stops before it writes anything, naming the holder; once the first has
// stopped, the directory is free again and holds everything it accepted.
func TestOneOwnerPerDataDir(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir)
	rec := a.submit(validSubmission(), "one-owner")

	began := time.Now()
	err := tryStart(t, context.Background(), baseConfig(dir), nil)
	var held *dirlock.HeldError
	if !errors.As(err, &held) || !errors.Is(err, dirlock.ErrHeld) {
		t.Fatalf("second service on %s: %v", dir, err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the refusal took %v", took)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "PID "+strconv.Itoa(os.Getpid())) {
		t.Errorf("the refusal does not name the directory and the holder: %s", msg)
	}
	// The first is undisturbed.
	a.waitQueued(rec.ID)

	a.stop()
	b := startApp(t, dir)
	if r := b.do("GET", "/api/v1/moderation/conferences/"+rec.ID, editor, nil); r.status != 200 {
		t.Fatalf("after the restart: %d %s", r.status, r.body)
	}
}

// TestEmbeddedServerRefusesStrangers: the embedded server's client port
// takes no client without the data directory's credentials, whatever it
// tries; the service itself and the holder of the seed file get in.
func TestEmbeddedServerRefusesStrangers(t *testing.T) {
	dir := t.TempDir()
	var logs syncWriter
	cfg := baseConfig(dir)
	if err := tryStart(t, context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	seedPath := filepath.Join(dir, embednats.SeedFile)
	fi, err := os.Stat(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", seedPath, fi.Mode().Perm())
	}
	seed, _ := os.ReadFile(seedPath)
	abs, _ := filepath.Abs(seedPath)
	if out := logs.String(); strings.Contains(out, strings.TrimSpace(string(seed))) || !strings.Contains(out, abs) {
		t.Errorf("the start-up log must name the credentials' path and never the seed:\n%s", out)
	}
	ctxFile, err := embednats.ReadContext(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ctxFile.NKey != abs || !strings.HasPrefix(ctxFile.URL, "nats://127.0.0.1:") {
		t.Fatalf("connection file: %+v", ctxFile)
	}

	// The owner's view: the stream and its events.
	nc, js, err := service.DialLocal(dir, "test owner")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	stream, err := js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	before := stream.CachedInfo().State.Msgs
	if before == 0 {
		t.Fatal("the seeded stream is empty")
	}

	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	otherFile := filepath.Join(t.TempDir(), "other.nk")
	_ = os.WriteFile(otherFile, otherSeed, 0o600)
	otherOpt, err := nats.NkeyOptionFromSeed(otherFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string][]nats.Option{
		"no credentials":    nil,
		"another nkey":      {otherOpt},
		"user and password": {nats.UserInfo("jevents", "jevents")},
		"a token":           {nats.Token("jevents")},
	} {
		nc, err := nats.Connect(ctxFile.URL, append(opts, nats.NoReconnect())...)
		if err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
			continue
		}
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: %v, want an authorization violation", name, err)
		}
	}

	// A raw client that ignores the refusal and sends the stream's
	// deletion, a direct get, stream info and an editor's approval anyway.
	c, err := net.Dial("tcp", strings.TrimPrefix(ctxFile.URL, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(c)
	if line, _ := rd.ReadString('\n'); !strings.HasPrefix(line, "INFO ") || !strings.Contains(line, `"auth_required":true`) {
		t.Fatalf("server greeting: %q", line)
	}
	_, _ = io.WriteString(c, "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n"+
		"SUB _INBOX.x 1\r\n"+
		"PUB $JS.API.STREAM.DELETE."+domain.StreamName+" _INBOX.x 0\r\n\r\n"+
		"PUB $JS.API.STREAM.INFO."+domain.StreamName+" _INBOX.x 0\r\n\r\n"+
		"PUB $JS.API.DIRECT.GET."+domain.StreamName+" _INBOX.x 11\r\n{\"seq\": 1}\r\n"+
		"PUB events.conference.x.approved 2\r\n{}\r\nPING\r\n")
	var answer strings.Builder
	for {
		line, err := rd.ReadString('\n')
		answer.WriteString(line)
		if err != nil {
			break
		}
	}
	if got := answer.String(); !strings.Contains(got, "-ERR 'Authorization Violation'") || strings.Contains(got, "MSG ") || strings.Contains(got, "PONG") {
		t.Fatalf("an unauthenticated raw client got: %q", got)
	}
	info, err := js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		t.Fatalf("the stream after the stranger's attempts: %v", err)
	}
	if n := info.CachedInfo().State.Msgs; n != before {
		t.Fatalf("the stream went from %d to %d events", before, n)
	}
}

// TestStartFailsFastWithTheCause: what keeps the service from starting is
// said within moments, in the error, and what can be refused before the
// data directory is touched leaves no trace in it.
func TestStartFailsFastWithTheCause(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	file := filepath.Join(t.TempDir(), "a-file")
	_ = os.WriteFile(file, []byte("x"), 0o600)

	for _, tc := range []struct {
		name      string
		change    func(*service.Config)
		want      string
		untouched bool // the data directory must not exist afterwards
	}{
		{"nats port taken", func(c *service.Config) { c.NATSListen = taken.Addr().String() }, "address already in use", false},
		{"http port taken", func(c *service.Config) { c.HTTP = taken.Addr().String() }, "--http " + taken.Addr().String(), true},
		{"data is a file", func(c *service.Config) { c.DataDir = file }, "not a directory", false},
		{"data under a file", func(c *service.Config) { c.DataDir = filepath.Join(file, "data") }, "not a directory", false},
		{"short editor token", func(c *service.Config) { c.EditorToken = "short" }, "JEVENTS_EDITOR_TOKEN", true},
		{"missing tokens file", func(c *service.Config) {
			c.EditorToken, c.EditorTokensFile = "", filepath.Join(t.TempDir(), "missing")
		}, "--editor-tokens-file", true},
		{"store is a file", func(c *service.Config) {
			_ = os.MkdirAll(c.DataDir, 0o700)
			_ = os.WriteFile(filepath.Join(c.DataDir, "nats"), nil, 0o600)
		}, "JetStream", false},
		{"bad nats listen", func(c *service.Config) { c.NATSListen = "bad" }, "--nats-listen", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			cfg := baseConfig(dir)
			tc.change(&cfg)
			began := time.Now()
			err := tryStart(t, context.Background(), cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("start: %v, want an error saying %q", err, tc.want)
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("the failure took %v", took)
			}
			t.Logf("%v", err)
			if _, serr := os.Stat(dir); tc.untouched && !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("the data directory was created although the configuration was refused (%v)", err)
			}
			if strings.Contains(err.Error(), "not ready after") {
				t.Errorf("a timeout instead of the cause: %v", err)
			}
		})
	}
}

// TestStartFollowsItsContext: a start-up asked to stop at any moment
// stops within moments and leaves the data directory free.
func TestStartFollowsItsContext(t *testing.T) {
	dir := t.TempDir()
	for _, after := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(after, cancel)
		began := time.Now()
		s, err := service.New(baseConfig(dir), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		err = s.Start(ctx)
		if err != nil {
			s.Close()
		} else {
			// Started before the cancel came: Run would stop it now.
			<-ctx.Done()
			s.Close()
		}
		if took := time.Since(began); took > 10*time.Second {
			t.Errorf("cancelled after %v: stopped after %v (%v)", after, took, err)
		}
		cancel()
	}
	// Free again, and whole.
	a := startApp(t, dir)
	a.submit(validSubmission(), "after-cancels")
}

// syncWriter collects the service's log from its goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
