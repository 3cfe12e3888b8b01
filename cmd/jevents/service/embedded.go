package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/justiceevents/jevents/internal/embednats"
)

// The embedded server may be restarted while the process runs: when the
// data volume has room again after it ran full (storage.go), or when its
// JetStream stopped answering (health.go). A single-node server that fails
// to write a message because the disk is full marks the stream and writes
// it no more, and the JetStream API can stay wedged; only loading the
// store again clears that. So the service shuts the server down and starts
// it again, with the same configuration, on the same store and address:
// what was acknowledged is on disk (every write is synced before it is
// acknowledged) and is read back, and clients, the service's own
// connection among them, reconnect by themselves. (nats-server can also
// restart JetStream alone, but re-enabling it races with requests in
// flight inside the server; a whole restart does not.)

// server returns the embedded server (nil when external).
func (s *Service) server() *server.Server {
	s.nsMu.RLock()
	defer s.nsMu.RUnlock()
	return s.ns
}

// inProcess hands the service's in-process connection to whichever
// embedded server runs now (nats.InProcessServer keeps its provider for
// every reconnect).
type inProcess struct{ s *Service }

func (p inProcess) InProcessConn() (net.Conn, error) {
	ns := p.s.server()
	if ns == nil {
		return nil, errors.New("no embedded server")
	}
	return ns.InProcessConn()
}

// restartEmbedded shuts the embedded server down and starts it again.
func (s *Service) restartEmbedded() error {
	s.nsMu.Lock()
	defer s.nsMu.Unlock()
	if s.ns == nil {
		return errors.New("service: no embedded server to restart")
	}
	if s.nsCfg.Listen != "-" {
		if a := s.ns.Addr(); a != nil {
			s.nsCfg.Listen = a.String() // the same port, also when it was picked at random
		}
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns, err := embednats.Start(ctx, s.nsCfg)
	if err != nil {
		return fmt.Errorf("service: restart the embedded server: %w", err)
	}
	s.ns = ns
	return nil
}
