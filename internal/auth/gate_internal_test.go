package auth

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/internal/serversecret"
)

// TestSessionLifetime: a session ends when it expires, and a cookie that
// claims to last beyond SessionTTL from now is refused even with a valid
// signature and record (made here by a gate whose clock is ten years
// ahead: the real clock cannot wait 12 hours).
func TestSessionLifetime(t *testing.T) {
	_, _, js := natstest.Start(t)
	if _, err := EnsureSessionBucket(context.Background(), js, 1); err != nil {
		t.Fatal(err)
	}
	keys, _ := serversecret.Load("", []string{"a3f1c09e7b5d2468ac13e5f7092b4d6f8e1a3c5b7d9f0e2a4c6b8d0f1e3a5c7b"})
	src, _, err := LoadTokens(TokenSource{Token: "ada-9fK2xQ7mZr4Lp8TwV3nB6hYc"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGate(GateConfig{Sources: []Source{src}, Sessions: NewKVSessions(js), Secret: keys, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	req := func(cookie string) *http.Request {
		r := httptest.NewRequest("GET", "/moderation", nil)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
		return r
	}
	now := time.Now()
	s, err := g.SignIn(req(""), "ada-9fK2xQ7mZr4Lp8TwV3nB6hYc")
	if err != nil {
		t.Fatal(err)
	}
	if s.Expires.After(now.Add(SessionTTL+time.Second)) || s.Expires.Before(now.Add(SessionTTL-time.Minute)) {
		t.Fatalf("a session expires at %v, want %v from now", s.Expires, SessionTTL)
	}
	g.now = func() time.Time { return now.Add(SessionTTL + time.Second) }
	if _, err := g.Authenticate(req(s.Cookie)); err != ErrSessionEnded {
		t.Fatalf("an expired session: %v", err)
	}
	g.now = func() time.Time { return now.AddDate(10, 0, 0) }
	future, err := g.SignIn(req(""), "ada-9fK2xQ7mZr4Lp8TwV3nB6hYc")
	if err != nil {
		t.Fatal(err)
	}
	g.now = time.Now
	if _, err := g.Authenticate(req(future.Cookie)); err != ErrSessionEnded {
		t.Fatalf("a cookie expiring in ten years: %v", err)
	}
	if _, err := g.Authenticate(req(s.Cookie)); err != nil {
		t.Fatalf("the session, now: %v", err)
	}
}
