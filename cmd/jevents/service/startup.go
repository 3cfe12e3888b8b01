package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/internal/dirlock"
	"github.com/justiceevents/jevents/internal/embednats"
)

// Start-up order: what can be refused is refused before anything is
// written, and every step is bounded or follows ctx.
//
//  1. Config.Validate (cmd/jevents runs it on the parsed flags, New again):
//     every value, the editor token and tokens file included.
//  2. claim: the HTTP address is listened on now (a taken port is known
//     before the data directory is touched; connections wait in the
//     backlog until the server serves them), then the data directory of the
//     embedded mode is locked (dirlock): a second process on it stops here,
//     naming the holder's PID, before it writes anything.
//  3. connect: the embedded server starts with its generated credentials
//     and routes its log to ours; its failures come back within moments
//     with the server's own reason.
//  4. the stream, the seed, the workers; then HTTP serves.

// claim takes what the process must own exclusively: its HTTP address and,
// with the embedded server, its data directory.
func (s *Service) claim() error {
	ln, err := net.Listen("tcp", s.cfg.HTTP)
	if err != nil {
		return fmt.Errorf("--http %s: %w", s.cfg.HTTP, err)
	}
	s.listener = ln
	if !s.cfg.Embedded() {
		// A cluster's roles share nothing on disk but an optional
		// generated editor token, which any number may read.
		return nil
	}
	lock, err := dirlock.Acquire(s.cfg.DataDir)
	if err != nil {
		return err
	}
	s.lock = lock
	return nil
}

// release gives back what claim took, once nothing uses it any more.
func (s *Service) release() {
	if s.httpSrv == nil && s.listener != nil {
		s.listener.Close() // never served: Start failed before
	}
	if s.lock != nil {
		if err := s.lock.Close(); err != nil {
			s.log.Warn("release the data directory", slog.Any("err", err))
		}
		s.lock = nil
	}
}

// startEmbedded starts the embedded server on the locked data directory
// with its user's credentials (generated at first start), writes the
// connection file and returns the URL and options to connect with; url is
// empty when the server listens on no port (in-process only).
func (s *Service) startEmbedded(ctx context.Context) (url string, opts []nats.Option, err error) {
	cfg := s.cfg
	creds, created, err := embednats.EnsureCredentials(cfg.DataDir)
	if err != nil {
		return "", nil, err
	}
	if created {
		s.log.Info("generated the embedded NATS server's credentials (an nkey seed)", slog.String("path", creds.SeedFile))
	}
	store := filepath.Join(cfg.DataDir, "nats")
	s.embeddedSince = time.Now()
	s.nsCfg = embednats.Config{StoreDir: store, Listen: cfg.NATSListen, UserNKey: creds.Public, Log: s.log,
		MaxStore: embeddedStoreLimit(cfg.DataDir, cfg.LogMaxBytes)} // storage.go
	ns, err := embednats.Start(ctx, s.nsCfg)
	if err != nil {
		return "", nil, fmt.Errorf("embedded NATS server (store %s, --nats-listen %s): %w", store, cfg.NATSListen, err)
	}
	s.nsMu.Lock()
	s.ns = ns
	s.nsMu.Unlock()
	auth, err := creds.Option()
	if err != nil {
		return "", nil, err
	}
	opts = []nats.Option{auth}
	// Loopback TCP when the server listens, like every other client
	// (measured no slower than the in-process pipe under concurrent
	// appends); the pipe when it listens on no port.
	if cfg.NATSListen == "-" {
		opts = append(opts, nats.InProcessServer(inProcess{s})) // embedded.go: follows a restart
	} else {
		url = ns.ClientURL()
	}
	ctxFile, err := embednats.WriteContext(cfg.DataDir, url, creds)
	if err != nil {
		return "", nil, err
	}
	attrs := []any{slog.String("store", store), slog.String("credentials", creds.SeedFile)}
	if url != "" {
		attrs = append(attrs, slog.String("client_url", url), slog.String("nats_context", ctxFile),
			slog.String("nats_cli", "nats --server "+url+" --nkey "+creds.SeedFile))
	} else {
		attrs = append(attrs, slog.String("client_url", "none (--nats-listen -)"))
	}
	s.log.Info("embedded nats-server started; only its credentials' holder may connect", attrs...)
	return url, opts, nil
}

// DialLocal connects to the embedded server of a `jevents serve` running
// on dataDir, with the URL and credentials that server wrote there: the
// CLI's log-level commands (rebuild, seed, setup) when no --nats is given.
func DialLocal(dataDir, name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := ConnectLocal(dataDir, name)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// ConnectLocal is DialLocal's connection alone, for callers that want
// their own JetStream options.
func ConnectLocal(dataDir, name string) (*nats.Conn, error) {
	c, err := embednats.ReadContext(dataDir)
	if errors.Is(err, embednats.ErrNoContext) {
		return nil, fmt.Errorf("no embedded NATS server known in %s (%w): start `jevents serve --data %s` (with a --nats-listen port), or give --nats", dataDir, err, dataDir)
	}
	if err != nil {
		return nil, err
	}
	opts, err := NATSAuth{NKeyFile: c.NKey}.options()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(c.URL, append(opts, nats.Name(name))...)
	if err != nil {
		return nil, fmt.Errorf("connect to the embedded NATS server of %s at %s: %w (is `jevents serve --data %s` running?)", dataDir, c.URL, err, dataDir)
	}
	return nc, nil
}
