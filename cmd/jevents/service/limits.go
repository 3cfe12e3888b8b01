package service

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/justiceevents/jevents/internal/connlimit"
)

// ConnLimits are the limits of the public listener (internal/connlimit).
// Zero values take the defaults; a negative Max or PerAddress is no limit.
type ConnLimits struct {
	// Max is the most connections held at once (default 4096, and at most
	// half the process's file-descriptor limit).
	Max int
	// PerAddress is the most from one client address, trusted proxies
	// excepted (default 128).
	PerAddress int
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request (default 60 s); BusyIdleTimeout replaces it, and the
	// header timeout of a connection that has sent nothing yet, once half
	// of a limit is reached (default 5 s).
	IdleTimeout, BusyIdleTimeout time.Duration
}

// validate fills the zero fields from def (Defaults().Conns) and checks
// the timeouts.
func (c *ConnLimits) validate(def ConnLimits) error {
	orDefault(&c.Max, def.Max)
	orDefault(&c.PerAddress, def.PerAddress)
	orDefault(&c.IdleTimeout, def.IdleTimeout)
	orDefault(&c.BusyIdleTimeout, def.BusyIdleTimeout)
	if c.IdleTimeout < time.Second || c.BusyIdleTimeout < 100*time.Millisecond || c.BusyIdleTimeout > c.IdleTimeout {
		return errors.New("--idle-timeout must be at least 1s and --busy-idle-timeout between 100ms and --idle-timeout")
	}
	return nil
}

// limitConns wraps the public listener with the connection limits, within
// the file descriptors the process may open.
func (s *Service) limitConns(srv *http.Server) {
	c := s.cfg.Conns
	limit := connlimit.Config{Max: max(c.Max, 0), PerAddress: max(c.PerAddress, 0), BusyIdle: c.BusyIdleTimeout,
		Exempt: s.clients.Trusted}
	if fds := openFileLimit(); fds > 0 && (limit.Max == 0 || uint64(limit.Max) > fds/2) {
		// Leave half of the descriptors to NATS, the embedded store and
		// the operators' listener.
		s.log.Warn("connection limit lowered to half the open-file limit", slog.Int("max_conns", int(fds/2)), slog.Uint64("nofile", fds))
		limit.Max = int(fds / 2)
	}
	s.conns = connlimit.New(s.listener, limit, connlimit.NewMetrics(s.registry))
	s.listener = s.conns
	srv.ConnState = s.conns.ConnState
	srv.IdleTimeout = c.IdleTimeout
}
