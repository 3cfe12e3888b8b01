package auth

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/internal/clientaddr"
	"github.com/justiceevents/jevents/internal/ratelimit"
)

// Throttle counts wrong editor tokens per client address — bearer tokens
// on the API and tokens typed into the sign-in page alike — logs them
// (never the token) and says when a client has used them up.
//
// A right token is always accepted, whatever its client's count: tokens
// carry at least MinTokenBits (strength.go), so letting the right one
// through cannot help anyone guessing, and an editor behind an address
// that others share (an office, a proxy's clients counted by
// X-Forwarded-For) is never locked out by their failures. The account a
// token tries is the token itself, which is why the throttle keys on the
// address and the token's rightness: the address's wrong tokens are
// refused with 429 and Retry-After, its right ones pass.
//
// Safe for concurrent use.
type Throttle struct {
	clients *clientaddr.Resolver
	wrong   *ratelimit.Keyed[netip.Addr]
	logs    *ratelimit.Keyed[netip.Addr] // one log line per address per minute
	log     *slog.Logger
	total   *prometheus.CounterVec
}

// DefaultThrottle is the wrong tokens a client may try: 10 at once, then
// one a minute.
var DefaultThrottle = ratelimit.Limit{Burst: 10, Every: time.Minute}

// NewThrottle counts wrong tokens of the clients clients finds, lim of
// them (DefaultThrottle when zero), and registers jevents_auth_failures_total
// on reg (nil: unregistered).
func NewThrottle(clients *clientaddr.Resolver, lim ratelimit.Limit, log *slog.Logger, reg prometheus.Registerer) *Throttle {
	if lim == (ratelimit.Limit{}) {
		lim = DefaultThrottle
	}
	t := &Throttle{clients: clients, log: log,
		wrong: ratelimit.New[netip.Addr](lim, 0),
		logs:  ratelimit.New[netip.Addr](ratelimit.Limit{Burst: 1, Every: time.Minute}, 0),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "auth", Name: "failures_total",
			Help: "Wrong editor tokens, by where they were tried (bearer: the API; sign_in: the editors' page) and outcome (rejected: 401; throttled: the client had used up its wrong tokens, 429)."},
			[]string{"via", "outcome"}),
	}
	for _, via := range []string{"bearer", "sign_in"} {
		for _, o := range []string{"rejected", "throttled"} {
			t.total.WithLabelValues(via, o)
		}
	}
	if reg != nil {
		reg.MustRegister(t.total)
	}
	return t
}

// Client is the client a request comes from (the process's one resolver).
func (t *Throttle) Client(r *http.Request) netip.Addr { return t.clients.Client(r) }

// Failed counts a wrong token and reports whether the client had already
// used up its wrong tokens, and how long until it may try again.
func (t *Throttle) Failed(r *http.Request, via string) (bool, time.Duration) {
	addr := t.clients.Client(r)
	now := time.Now()
	ok, wait := t.wrong.Take(clientaddr.Key(addr), 1, now)
	outcome := "rejected"
	if !ok {
		outcome = "throttled"
	}
	t.total.WithLabelValues(via, outcome).Inc()
	if logged, _ := t.logs.Take(clientaddr.Key(addr), 1, now); logged {
		t.log.Warn("wrong editor token (the token is not logged; at most one line per address a minute)",
			slog.String("client", addr.String()), slog.String("via", via), slog.String("outcome", outcome),
			slog.String("method", r.Method), slog.String("path", clip(r.URL.Path, 200)))
	}
	return !ok, wait
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
