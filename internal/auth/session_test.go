package auth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/auth"
)

func mustEditors(t *testing.T, lines ...string) *auth.Editors {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, _, err := auth.Load(auth.Source{File: path})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestSessions: a sign-in gives a cookie that any process with the same
// tokens accepts until it expires; a wrong token opens nothing; a cookie
// changed in any part, or signed by a token that was removed, is refused;
// CSRF tokens belong to one session.
func TestSessions(t *testing.T) {
	now := time.Now()
	e := mustEditors(t, "ada:ada-9fK2xQ7mZr4Lp8TwV3nB6hYc", "bob:bob-5Rt8Hq2Wn7Kx4Mz9Pc3Lv6Jd")
	if _, ok := e.SignIn("wrong-7Gv3Ns9Qx2Kd8Mf4Wb6Hz", now, time.Hour); ok {
		t.Fatal("a wrong token signed in")
	}
	if _, ok := e.SignIn("", now, time.Hour); ok {
		t.Fatal("an empty token signed in")
	}
	s, ok := e.SignIn("ada-9fK2xQ7mZr4Lp8TwV3nB6hYc", now, time.Hour)
	if !ok || s.Editor != "ada" || s.Cookie == "" {
		t.Fatalf("sign-in: %+v %v", s, ok)
	}
	if strings.Contains(s.Cookie, "9fK2xQ7mZr4Lp8") {
		t.Fatal("the cookie carries the token")
	}

	other := mustEditors(t, "ada:ada-9fK2xQ7mZr4Lp8TwV3nB6hYc") // another process, same token
	got, ok := other.Session(s.Cookie, now.Add(30*time.Minute))
	if !ok || got.Editor != "ada" {
		t.Fatalf("another process refuses the session: %+v %v", got, ok)
	}
	if !got.CheckCSRF(s.CSRFToken()) {
		t.Fatal("the CSRF token of the session is refused")
	}
	if _, ok := e.Session(s.Cookie, now.Add(time.Hour+time.Second)); ok {
		t.Fatal("an expired session is accepted")
	}
	revoked := mustEditors(t, "ada:ada-new-8Kp3Xw7Rq2Zm9Ty4Vb6Nc", "bob:bob-5Rt8Hq2Wn7Kx4Mz9Pc3Lv6Jd")
	if _, ok := revoked.Session(s.Cookie, now); ok {
		t.Fatal("a session of a removed token is accepted")
	}

	b, _ := e.SignIn("bob-5Rt8Hq2Wn7Kx4Mz9Pc3Lv6Jd", now, time.Hour)
	if s.CheckCSRF(b.CSRFToken()) || b.CheckCSRF(s.CSRFToken()) || s.CheckCSRF("") || s.CheckCSRF("!!") {
		t.Fatal("a CSRF token of another session is accepted")
	}
	parts := strings.Split(s.Cookie, ".")
	bparts := strings.Split(b.Cookie, ".")
	for i, tampered := range []string{
		strings.Join([]string{parts[0], bparts[1], parts[2], parts[3], parts[4]}, "."), // bob's name, ada's signature
		strings.Join([]string{parts[0], parts[1], "99999999999", parts[3], parts[4]}, "."),
		strings.Join([]string{parts[0], parts[1], parts[2], bparts[3], parts[4]}, "."),
		strings.Join([]string{parts[0], parts[1], parts[2], parts[3], bparts[4]}, "."),
		strings.Join([]string{"v2", parts[1], parts[2], parts[3], parts[4]}, "."),
		s.Cookie + ".x", "", "v1....",
	} {
		if _, ok := e.Session(tampered, now); ok {
			t.Errorf("tampered cookie %d accepted: %q", i, tampered)
		}
	}
}
