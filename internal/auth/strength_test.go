package auth_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"io"
	"log/slog"

	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/clientaddr"
	"github.com/justiceevents/jevents/internal/ratelimit"
)

// TestTokenStrength: weak tokens (repeated characters, runs, repeated
// patterns, small alphabets, too short) are refused with a message that
// says how to make one and never holds the token; generated and
// openssl-made tokens load.
func TestTokenStrength(t *testing.T) {
	for _, weak := range []string{
		strings.Repeat("a", 16), strings.Repeat("a", 64), strings.Repeat("ab", 40),
		"0123456789012345678901234567890123456789", // digits, and a repeated run
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnop",
		"correct-horse-battery", "9fK2xQ7mZr4Lp8", // short
		strings.Repeat("9fK2xQ7m", 8), // a short random part repeated
		"1111111111111111111111111111111111111111111111111111",
		"test-editor-token-0123456789",
	} {
		_, _, err := auth.Load(auth.Source{Token: weak})
		if err == nil {
			t.Errorf("%q (%.0f bits) accepted", weak, auth.TokenBits(weak))
			continue
		}
		if !strings.Contains(err.Error(), "openssl rand -base64 32") || strings.Contains(err.Error(), weak) {
			t.Errorf("message for %q: %v", weak, err)
		}
	}
	for _, strong := range []string{
		"3q2+7w8bX0kLr1Vd9mZpYc4tHn6sJf5aQe2uGi8oWxE=",                     // openssl rand -base64 32
		"8f14e45fceea167a5a36dedd4bea2543a2c6f1b5e0d9c3b7a4f8e2d1c0b9a8f7", // openssl rand -hex 32
	} {
		if _, _, err := auth.Load(auth.Source{Token: strong}); err != nil {
			t.Errorf("%q refused: %v", strong, err)
		}
	}
	for range 200 {
		tok, err := auth.NewToken()
		if err != nil || auth.TokenBits(tok) < auth.MinTokenBits {
			t.Fatalf("generated token %.0f bits: %v", auth.TokenBits(tok), err)
		}
	}
	// A tokens file names the editor whose token is weak.
	path := filepath.Join(t.TempDir(), "tokens")
	_ = os.WriteFile(path, []byte("ada:3q2+7w8bX0kLr1Vd9mZpYc4tHn6sJf5aQe2uGi8oWxE=\nbob:bobbobbobbobbobbob\n"), 0o600)
	if _, _, err := auth.Load(auth.Source{File: path}); err == nil || !strings.Contains(err.Error(), `"bob"`) || strings.Contains(err.Error(), "bobbob") {
		t.Fatalf("tokens file with a weak token: %v", err)
	}
}

// TestCookieLifetimeCapped: a cookie claiming to last beyond SessionTTL
// from now is refused, even with a valid signature (made here by signing
// in with a clock set ten years ahead), and SignIn never signs longer.
func TestCookieLifetimeCapped(t *testing.T) {
	e := mustEditors(t, "ada:ada-9fK2xQ7mZr4Lp8TwV3nB6hYc")
	now := time.Now()
	future, ok := e.SignIn("ada-9fK2xQ7mZr4Lp8TwV3nB6hYc", now.AddDate(10, 0, 0), time.Hour)
	if !ok {
		t.Fatal("sign-in")
	}
	if _, ok := e.Session(future.Cookie, now); ok {
		t.Fatal("a cookie expiring in ten years is accepted")
	}
	long, _ := e.SignIn("ada-9fK2xQ7mZr4Lp8TwV3nB6hYc", now, 10*365*24*time.Hour)
	if long.Expires.After(now.Add(auth.SessionTTL + time.Second)) {
		t.Fatalf("SignIn signed until %v", long.Expires)
	}
	if _, ok := e.Session(long.Cookie, now.Add(time.Hour)); !ok {
		t.Fatal("a capped cookie is refused")
	}
}

// TestBearerThrottle: wrong bearer tokens from one address are answered
// 401 by the route, then 429 once the address used them up, without
// slowing other addresses; the right token always passes, from the same
// address too; the log never holds a token.
func TestBearerThrottle(t *testing.T) {
	e := mustEditors(t, "ada:ada-9fK2xQ7mZr4Lp8TwV3nB6hYc")
	var logs strings.Builder
	th := auth.NewThrottle(clientaddr.New(nil), ratelimit.Limit{Burst: 3, Every: time.Hour},
		slog.New(slog.NewTextHandler(&logs, nil)), nil)
	h := e.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.Editor(r.Context()); !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}), th)
	do := func(addr, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/v1/conferences/x/approve", nil)
		r.RemoteAddr = addr + ":4000"
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 3 {
		if w := do("192.0.2.1", "guess-"+strings.Repeat("x", i)+"Zq8Lm3Vt7Kp2"); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	w := do("192.0.2.1", "guess-Rz4Wq9Xm2Lv7")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || w.Body.Len() > 512 {
		t.Fatalf("past the limit: %d %v %d bytes", w.Code, w.Header(), w.Body.Len())
	}
	if w := do("192.0.2.1", "ada-9fK2xQ7mZr4Lp8TwV3nB6hYc"); w.Code != http.StatusOK {
		t.Fatalf("the right token from a throttled address: %d", w.Code)
	}
	if w := do("192.0.2.2", "guess-Kx7Vm2Qr8Zt3"); w.Code != http.StatusUnauthorized {
		t.Fatalf("another address: %d", w.Code)
	}
	if strings.Contains(logs.String(), "guess-") || !strings.Contains(logs.String(), "192.0.2.1") {
		t.Fatalf("log: %s", logs.String())
	}
	if n := strings.Count(logs.String(), "192.0.2.1"); n != 1 {
		t.Fatalf("%d log lines for one address within a minute", n)
	}
}
