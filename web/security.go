package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"time"

	"github.com/justiceevents/jevents/internal/clientaddr"
	"github.com/justiceevents/jevents/internal/ratelimit"
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
// editors carry a token derived from their session instead (auth.Gate.CSRFToken).
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

// clientAddr is the address a request comes from, for rate limits: the
// one resolver of the process (internal/clientaddr), which the intake
// gate and the editors' token throttle share.
func (s *Server) clientAddr(r *http.Request) netip.Addr { return s.clients.Client(r) }

// Limit is a token bucket's size: Burst posts at once, then one more each
// Every.
type Limit = ratelimit.Limit

// limiter keeps one token bucket per client address (an IPv6 /64 counts as
// one), in memory, within a bounded least-recently-used set
// (internal/ratelimit): each process limits on its own (with N intake
// processes behind a balancer a client gets up to N times the rate, which
// is still a limit).
type limiter struct {
	k *ratelimit.Keyed[netip.Addr]
}

func newLimiter(l Limit) *limiter {
	return &limiter{k: ratelimit.New[netip.Addr](l, 0)}
}

// allow takes a token for addr, or says how long until one is free.
func (l *limiter) allow(addr netip.Addr, now time.Time) (bool, time.Duration) {
	return l.k.Take(clientaddr.Key(addr), 1, now)
}
