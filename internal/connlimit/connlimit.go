// Package connlimit owns how many connections the public HTTP listener
// holds at once: at most Config.Max in all and Config.PerAddress from one
// client address (an IPv6 /64 counts as one; trusted reverse proxies are
// not limited per address, since every client behind them shares their
// address). A connection past a limit is answered at once with a short
// 503 (the total) or 429 (its address) and closed, so that it never holds a
// file descriptor or a goroutine of the server.
//
// Under pressure — once the open connections reach Config.Pressure of a
// limit — connections that wait between requests, or that have not sent
// their first request yet, get Config.BusyIdle instead of the server's
// idle and header timeouts, so that idle keep-alives give their place to
// clients with something to ask.
//
// The operators' endpoints (/metrics, /healthz, /readyz) are on another
// listener (cmd/jevents/service), which these limits never touch, so they
// answer while the public listener is saturated.
//
// It imports internal/clientaddr and the Prometheus client.
package connlimit

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/internal/clientaddr"
)

// Config are the listener's limits; a zero Max or PerAddress is no limit.
type Config struct {
	Max        int
	PerAddress int
	// Exempt reports whether an address is a trusted proxy, not limited
	// per address.
	Exempt func(netip.Addr) bool
	// BusyIdle is the idle timeout under pressure (default 5 s).
	BusyIdle time.Duration
	// Pressure is the fraction of a limit from which idle timeouts are
	// BusyIdle (default 0.5).
	Pressure float64
}

// Listener wraps a net.Listener with the limits. Set the http.Server's
// ConnState to its ConnState.
type Listener struct {
	net.Listener
	cfg     Config
	metrics *Metrics

	mu      sync.Mutex
	total   int
	perAddr map[netip.Addr]int
	idle    map[*conn]struct{}
	shed    time.Time // when idle connections were last shortened

	refusing atomic.Int64 // refusals being written
}

// New wraps ln; m may be nil.
func New(ln net.Listener, cfg Config, m *Metrics) *Listener {
	if cfg.BusyIdle <= 0 {
		cfg.BusyIdle = 5 * time.Second
	}
	if cfg.Pressure <= 0 || cfg.Pressure > 1 {
		cfg.Pressure = 0.5
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	m.limits.WithLabelValues("total").Set(float64(cfg.Max))
	m.limits.WithLabelValues("per_address").Set(float64(cfg.PerAddress))
	m.refused.WithLabelValues("total")
	m.refused.WithLabelValues("per_address")
	return &Listener{Listener: ln, cfg: cfg, metrics: m, perAddr: map[netip.Addr]int{}, idle: map[*conn]struct{}{}}
}

// maxPoliteRefusals bounds the refusals answered with an HTTP status at
// once; past it, refused connections are closed without a word.
const maxPoliteRefusals = 64

// Accept returns the next connection within the limits, answering and
// closing the others.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		peer := clientaddr.Peer(c.RemoteAddr().String())
		key := clientaddr.Key(peer)
		perAddress := l.cfg.PerAddress > 0 && (l.cfg.Exempt == nil || !l.cfg.Exempt(peer))
		l.mu.Lock()
		switch {
		case l.cfg.Max > 0 && l.total >= l.cfg.Max:
			l.mu.Unlock()
			l.refuse(c, http.StatusServiceUnavailable, "total")
			continue
		case perAddress && l.perAddr[key] >= l.cfg.PerAddress:
			l.mu.Unlock()
			l.refuse(c, http.StatusTooManyRequests, "per_address")
			continue
		}
		l.total++
		if perAddress {
			l.perAddr[key]++
		}
		pressed := l.pressedLocked(key, perAddress)
		nc := &conn{Conn: c, l: l, key: key, counted: perAddress}
		nc.waiting.Store(true) // until its first request arrives
		l.idle[nc] = struct{}{}
		l.metrics.open.Set(float64(l.total))
		l.mu.Unlock()
		if pressed {
			l.shedIdle()
		}
		return nc, nil
	}
}

// pressedLocked reports whether the listener, or the address key, is under
// pressure; l.mu is held.
func (l *Listener) pressedLocked(key netip.Addr, perAddress bool) bool {
	if l.cfg.Max > 0 && float64(l.total) >= l.cfg.Pressure*float64(l.cfg.Max) {
		return true
	}
	return perAddress && float64(l.perAddr[key]) >= l.cfg.Pressure*float64(l.cfg.PerAddress)
}

// refuse answers a connection past a limit and closes it.
func (l *Listener) refuse(c net.Conn, status int, reason string) {
	l.metrics.refused.WithLabelValues(reason).Inc()
	if l.refusing.Add(1) > maxPoliteRefusals {
		l.refusing.Add(-1)
		_ = c.Close()
		return
	}
	go func() {
		defer l.refusing.Add(-1)
		defer c.Close()
		text := http.StatusText(status)
		body := "Too many connections; try again in a moment.\n"
		_ = c.SetDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte("HTTP/1.1 " + strconv.Itoa(status) + " " + text + "\r\nContent-Type: text/plain; charset=utf-8\r\n" +
			"Retry-After: 5\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body))
		// Half-close and read what the client sent, so that closing does
		// not reset the connection before it reads the answer.
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
			buf := make([]byte, 4096)
			for {
				if _, err := tc.Read(buf); err != nil {
					return
				}
			}
		}
	}()
}

// shedIdle gives the connections that wait for a request the short
// timeout, at most once a second.
func (l *Listener) shedIdle() {
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.shed) < time.Second {
		l.mu.Unlock()
		return
	}
	l.shed = now
	idle := make([]*conn, 0, len(l.idle))
	for c := range l.idle {
		idle = append(idle, c)
	}
	l.mu.Unlock()
	l.metrics.shed.Add(float64(len(idle)))
	for _, c := range idle {
		_ = c.Conn.SetReadDeadline(now.Add(l.cfg.BusyIdle))
	}
}

// ConnState follows the connections' states for the idle timeouts: set it
// as the http.Server's ConnState.
func (l *Listener) ConnState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	l.mu.Lock()
	switch st {
	case http.StateIdle:
		l.idle[c] = struct{}{}
		c.waiting.Store(true)
	case http.StateActive:
		delete(l.idle, c)
		c.waiting.Store(false)
	case http.StateClosed, http.StateHijacked:
		delete(l.idle, c)
		c.waiting.Store(false)
	}
	l.mu.Unlock()
}

// Pressed reports whether idle timeouts are short now (for metrics).
func (l *Listener) Pressed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg.Max > 0 && float64(l.total) >= l.cfg.Pressure*float64(l.cfg.Max)
}

// Open is the number of connections held.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// conn is one accepted connection.
type conn struct {
	net.Conn
	l       *Listener
	key     netip.Addr
	counted bool // counted per address
	closed  sync.Once
	// waiting: between requests, or before the first (the server's idle
	// and header timeouts apply); the short timeout applies under pressure.
	waiting atomic.Bool
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() {
		l := c.l
		l.mu.Lock()
		l.total--
		if c.counted {
			if l.perAddr[c.key]--; l.perAddr[c.key] <= 0 {
				delete(l.perAddr, c.key)
			}
		}
		delete(l.idle, c)
		l.metrics.open.Set(float64(l.total))
		l.mu.Unlock()
	})
	return err
}

// SetReadDeadline is the server's idle or header timeout while the
// connection waits for a request, shortened under pressure.
func (c *conn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && c.l.pressed(c) {
		if short := time.Now().Add(c.l.cfg.BusyIdle); t.After(short) {
			t = short
		}
	}
	return c.Conn.SetReadDeadline(t)
}

// pressed reports whether c should get the short timeout now: it waits
// for a request (or has not sent its first) while its listener or its
// address is under pressure.
func (l *Listener) pressed(c *conn) bool {
	if !c.waiting.Load() {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pressedLocked(c.key, c.counted)
}

// Metrics are the listener's Prometheus series.
type Metrics struct {
	open    prometheus.Gauge
	refused *prometheus.CounterVec
	limits  *prometheus.GaugeVec
	shed    prometheus.Counter
}

// NewMetrics registers the series on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "http", Name: "connections",
			Help: "Connections the public listener holds."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "http", Name: "connections_refused_total",
			Help: "Connections answered at once and closed, by the limit they were past: total (503) or per_address (429)."}, []string{"limit"}),
		limits: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "http", Name: "connection_limit",
			Help: "The public listener's connection limits: total and per_address (0: none)."}, []string{"limit"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "http", Name: "idle_connections_shortened_total",
			Help: "Idle keep-alive connections given the short idle timeout because the listener came under pressure."}),
	}
	if reg != nil {
		reg.MustRegister(m.open, m.refused, m.limits, m.shed)
	}
	return m
}
