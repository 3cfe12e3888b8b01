package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// pageHeaders are the headers of every page: nothing but this site's own
// files may load, nothing may frame it (the CSP's frame-ancestors, and
// X-Frame-Options for browsers that predate it).
func pageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
}

// secure reports whether cookies must be Secure: the site is public over
// https, or this request came over TLS.
func (s *Server) secure(r *http.Request) bool {
	return s.cfg.PublicURL.Scheme == "https" || r.TLS != nil
}

// newKey returns 24 random bytes, URL-safe base64.
func newKey() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// The forms of people who are not signed in (/submit, the editors'
// sign-in) carry a double-submit token: a random value in a cookie that
// is HttpOnly and SameSite=Strict, repeated in a hidden field. Another
// site can neither read the cookie nor make the browser send it with a
// cross-site post, so it cannot fill in the field. The forms of signed-in
// editors carry a token derived from their session instead (auth.Session).
const formCookie = "jevents_form"

// formToken returns the visitor's form token, setting the cookie when it
// is missing.
func (s *Server) formToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(formCookie); err == nil && validFormToken(c.Value) {
		return c.Value
	}
	tok := newKey()
	http.SetCookie(w, &http.Cookie{Name: formCookie, Value: tok, Path: "/", HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteStrictMode, MaxAge: 7 * 24 * 3600})
	return tok
}

func validFormToken(v string) bool {
	if len(v) != 32 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// checkForm checks a post from a visitor who is not signed in: a browser
// says it came from this site (or says nothing, as programs do), and the
// form's token is the cookie's.
func (s *Server) checkForm(r *http.Request) bool {
	if s.cop.Check(r) != nil {
		return false
	}
	c, err := r.Cookie(formCookie)
	if err != nil || !validFormToken(c.Value) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}

// clientAddr is the address a request comes from, for rate limits. The
// connection's peer is the client unless it is a trusted proxy; then the
// client is the right-most address of X-Forwarded-For that is not a
// trusted proxy (each proxy appends the address it received from, so the
// addresses left of the first untrusted one may be forged).
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled hop: trust nothing to its left
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Limit is a token bucket's size: Burst posts at once, then one more each
// Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// limiter keeps one token bucket per client address, in memory: each
// process limits on its own (with N intake processes behind a balancer a
// client gets up to N times the rate, which is still a limit). An IPv6
// client is limited by its /64, which one subscriber usually holds whole.
type limiter struct {
	lim     Limit
	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the limiter's memory. Past it, buckets that have
// refilled are forgotten; if all are in use (a flood from many addresses)
// all are, so the limiter fails open rather than growing.
const maxBuckets = 100_000

func newLimiter(l Limit) *limiter {
	return &limiter{lim: l, buckets: map[netip.Addr]*bucket{}}
}

// allow takes a token for addr, or says how long until one is free.
func (l *limiter) allow(addr netip.Addr, now time.Time) (bool, time.Duration) {
	if l.lim.Burst <= 0 || l.lim.Every <= 0 {
		return true, 0
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		addr = p.Addr()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(l.lim.Burst), last: now}
		l.buckets[addr] = b
	}
	b.tokens = min(float64(l.lim.Burst), b.tokens+float64(now.Sub(b.last))/float64(l.lim.Every))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.lim.Every))
}

func (l *limiter) sweep(now time.Time) {
	full := time.Duration(l.lim.Burst) * l.lim.Every
	for a, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, a)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}
