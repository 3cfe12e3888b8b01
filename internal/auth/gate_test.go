package auth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/clientaddr"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/internal/ratelimit"
	"github.com/justiceevents/jevents/internal/serversecret"
)

const (
	adaToken = "ada-9fK2xQ7mZr4Lp8TwV3nB6hYc"
	bobToken = "bob-5Rt8Hq2Wn7Kx4Mz9Pc3Lv6Jd"
	secret1  = "a3f1c09e7b5d2468ac13e5f7092b4d6f8e1a3c5b7d9f0e2a4c6b8d0f1e3a5c7b"
	secret2  = "Qx7Vm2Kp9Lt4Zr8Wn3Hb6Jc1Fd5Gs0Ya2Ue4Io6Pq8="
)

// sessionsOn returns the KV session store on a fresh embedded server.
func sessionsOn(t *testing.T) (*auth.KVSessions, jetstream.JetStream) {
	t.Helper()
	_, _, js := natstest.Start(t)
	if _, err := auth.EnsureSessionBucket(context.Background(), js, 1); err != nil {
		t.Fatal(err)
	}
	return auth.NewKVSessions(js), js
}

func writeTokens(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustGate(t *testing.T, store auth.SessionStore, secrets []string, th *auth.Throttle, sources ...auth.Source) *auth.Gate {
	t.Helper()
	keys, err := serversecret.Load("", secrets)
	if err != nil {
		t.Fatal(err)
	}
	g, err := auth.NewGate(auth.GateConfig{Sources: sources, Sessions: store, Secret: keys, Throttle: th, Log: discard})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func request(cookie, bearer string) *http.Request {
	r := httptest.NewRequest("GET", "/moderation", nil)
	r.RemoteAddr = "192.0.2.9:4000"
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	return r
}

// TestSessions: a sign-in opens a session whose cookie carries the
// editor's name and a session id, never the token; any process with the
// same secret and store accepts it; a wrong token opens nothing; signing
// out ends every copy of the cookie; a cookie changed in any part, or
// signed with another secret, is refused; CSRF tokens belong to one
// session.
func TestSessions(t *testing.T) {
	store, _ := sessionsOn(t)
	path := filepath.Join(t.TempDir(), "tokens")
	writeTokens(t, path, "ada:"+adaToken, "bob:"+bobToken)
	tokens, err := auth.OpenTokensFile(path, discard)
	if err != nil {
		t.Fatal(err)
	}
	g := mustGate(t, store, []string{secret1}, nil, tokens)
	if _, err := g.SignIn(request("", ""), "wrong-7Gv3Ns9Qx2Kd8Mf4Wb6Hz"); !errors.Is(err, auth.ErrTokenNotAccepted) {
		t.Fatalf("a wrong token: %v", err)
	}
	if _, err := g.SignIn(request("", ""), ""); !errors.Is(err, auth.ErrTokenNotAccepted) {
		t.Fatalf("an empty token: %v", err)
	}
	s, err := g.SignIn(request("", ""), adaToken)
	if err != nil || s.Editor != "ada" || s.Session == "" || s.Method != auth.SessionCookie {
		t.Fatalf("sign-in: %+v %v", s, err)
	}
	if strings.Contains(s.Cookie, "9fK2xQ7mZr4Lp8") || strings.Contains(s.Cookie, auth.TokenID(adaToken)) {
		t.Fatal("the cookie carries the token or its id")
	}
	if !strings.Contains(s.Cookie, s.Session) {
		t.Fatal("the cookie does not carry the session id")
	}

	// Another process: same secret, same bucket, its own sources.
	other := mustGate(t, store, []string{secret1}, nil, tokens)
	id, err := other.Authenticate(request(s.Cookie, ""))
	if err != nil || id.Editor != "ada" || id.Session != s.Session || id.Method != auth.SessionCookie {
		t.Fatalf("another process refuses the session: %+v %v", id, err)
	}
	if !other.CheckCSRF(id, g.CSRFToken(s.Identity)) {
		t.Fatal("the CSRF token of the session is refused")
	}
	// A process with another secret refuses it, whatever the store says.
	foreign := mustGate(t, store, []string{secret2}, nil, tokens)
	if _, err := foreign.Authenticate(request(s.Cookie, "")); !errors.Is(err, auth.ErrSessionEnded) {
		t.Fatalf("a cookie signed with another secret: %v", err)
	}

	b, err := g.SignIn(request("", ""), bobToken)
	if err != nil {
		t.Fatal(err)
	}
	if g.CheckCSRF(s.Identity, g.CSRFToken(b.Identity)) || g.CheckCSRF(b.Identity, g.CSRFToken(s.Identity)) ||
		g.CheckCSRF(s.Identity, "") || g.CheckCSRF(s.Identity, "!!") {
		t.Fatal("a CSRF token of another session is accepted")
	}
	parts := strings.Split(s.Cookie, ".")
	bparts := strings.Split(b.Cookie, ".")
	join := func(p ...string) string { return strings.Join(p, ".") }
	for i, tampered := range []string{
		join(parts[0], bparts[1], parts[2], parts[3], parts[4]), // bob's name, ada's signature
		join(parts[0], parts[1], bparts[2], parts[3], parts[4]), // bob's session, ada's signature
		join(parts[0], parts[1], parts[2], "99999999999", parts[4]),
		join(parts[0], parts[1], parts[2], parts[3], bparts[4]),
		join("v1", parts[1], parts[2], parts[3], parts[4]),
		s.Cookie + ".x", "", "v2....", "v1.YWRh.1999999999.abc.def",
	} {
		if _, err := g.Authenticate(request(tampered, "")); err == nil {
			t.Errorf("tampered cookie %d accepted: %q", i, tampered)
		}
	}

	// Signing out ends the session for every copy of the cookie, in
	// every process; bob's session goes on.
	if err := g.SignOut(context.Background(), s.Identity); err != nil {
		t.Fatal(err)
	}
	for _, gate := range []*auth.Gate{g, other} {
		if _, err := gate.Authenticate(request(s.Cookie, "")); !errors.Is(err, auth.ErrSessionEnded) {
			t.Fatalf("a signed-out cookie: %v", err)
		}
	}
	if id, err := other.Authenticate(request(b.Cookie, "")); err != nil || id.Editor != "bob" {
		t.Fatalf("another editor's session ended too: %v", err)
	}
	if _, err := g.Authenticate(request("", "")); !errors.Is(err, auth.ErrNoCredentials) {
		t.Fatalf("nothing sent: %v", err)
	}
}

// TestTokenRemovalEndsSessions: removing a token's line from the tokens
// file ends, within the reload interval and without a restart, its bearer
// access and every session opened with it; the other editors go on; a
// line with a weak token is left out (the rest applies); a token put back
// signs in again but does not revive the sessions it had; a file that
// cannot be read leaves nobody in until it can, and signs nobody out.
func TestTokenRemovalEndsSessions(t *testing.T) {
	store, _ := sessionsOn(t)
	path := filepath.Join(t.TempDir(), "tokens")
	writeTokens(t, path, "ada:"+adaToken, "bob:"+bobToken)
	tokens, err := auth.OpenTokensFile(path, discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = tokens.Watch(ctx, 50*time.Millisecond); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	g := mustGate(t, store, []string{secret1}, nil, tokens)
	ada, err := g.SignIn(request("", ""), adaToken)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := g.SignIn(request("", ""), bobToken)
	if err != nil {
		t.Fatal(err)
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	accepted := func(cookie, bearer string) bool { _, err := g.Authenticate(request(cookie, bearer)); return err == nil }

	// ada's line goes; a new editor's weak line comes with it.
	writeTokens(t, path, "bob:"+bobToken, "# carol's is too weak and is left out", "carol:carolcarolcarolcarol")
	eventually("the removed token's session ends", func() bool { return !accepted(ada.Cookie, "") })
	if accepted("", adaToken) {
		t.Fatal("the removed token is still accepted as a bearer token")
	}
	if !accepted(bob.Cookie, "") || !accepted("", bobToken) {
		t.Fatal("another editor's session or token ended")
	}
	if accepted("", "carolcarolcarolcarol") {
		t.Fatal("a weak token was let in on a reload")
	}
	// The token put back signs in again; the session refused while it
	// was gone stays ended.
	writeTokens(t, path, "bob:"+bobToken, "ada:"+adaToken)
	eventually("a token added back signs in", func() bool { return accepted("", adaToken) })
	if accepted(ada.Cookie, "") {
		t.Fatal("a session refused for a removed token came back with it")
	}

	// A file that cannot be read (replaced, say): nobody is in until it
	// can, and then the sessions go on.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	eventually("a removed file ends every session", func() bool { return !accepted(bob.Cookie, "") && !accepted("", bobToken) })
	writeTokens(t, path, "bob:"+bobToken)
	eventually("the file back lets its editors in", func() bool { return accepted(bob.Cookie, "") })
}

// TestSecretRotation: during a rotation (the new secret first, the old
// one kept) cookies signed before it stay valid; once the old secret is
// removed they end.
func TestSecretRotation(t *testing.T) {
	store, _ := sessionsOn(t)
	src, _, err := auth.LoadTokens(auth.TokenSource{Token: adaToken}, discard)
	if err != nil {
		t.Fatal(err)
	}
	before := mustGate(t, store, []string{secret1}, nil, src)
	s, err := before.SignIn(request("", ""), adaToken)
	if err != nil {
		t.Fatal(err)
	}
	during := mustGate(t, store, []string{secret2, secret1}, nil, src)
	if id, err := during.Authenticate(request(s.Cookie, "")); err != nil || !during.CheckCSRF(id, before.CSRFToken(s.Identity)) {
		t.Fatalf("a session from before the rotation: %v", err)
	}
	after := mustGate(t, store, []string{secret2}, nil, src)
	if _, err := after.Authenticate(request(s.Cookie, "")); !errors.Is(err, auth.ErrSessionEnded) {
		t.Fatalf("a session signed with a removed secret: %v", err)
	}
	fresh, err := during.SignIn(request("", ""), adaToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Authenticate(request(fresh.Cookie, "")); err != nil {
		t.Fatalf("a session signed during the rotation, after it: %v", err)
	}
}

// TestGateMiddleware: Identify puts an editor's identity in the context of
// any request and lets others through without one; Require answers a
// request without an identity with its refusal and never runs the route;
// wrong bearer tokens from one address are refused, then throttled (429
// on any route), without slowing other addresses; the right token always
// passes, from the same address too; the log never holds a token.
func TestGateMiddleware(t *testing.T) {
	store, _ := sessionsOn(t)
	src, _, err := auth.LoadTokens(auth.TokenSource{Token: adaToken}, discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	th := auth.NewThrottle(clientaddr.New(nil), ratelimit.Limit{Burst: 3, Every: time.Hour},
		slog.New(slog.NewTextHandler(&logs, nil)), nil)
	g := mustGate(t, store, []string{secret1}, th, src)
	refuse := func(w http.ResponseWriter, r *http.Request, err error) {
		var te *auth.ThrottledError
		switch {
		case errors.As(err, &te):
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
		_, _ = io.WriteString(w, err.Error())
	}
	ran := 0
	route := func(w http.ResponseWriter, r *http.Request) {
		ran++
		id, ok := auth.From(r.Context())
		if !ok {
			_, _ = io.WriteString(w, "anonymous")
			return
		}
		_, _ = io.WriteString(w, id.Editor+" "+string(id.Method))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /public", http.HandlerFunc(route))
	mux.Handle("POST /editors", g.Require(http.HandlerFunc(route), refuse))
	h := g.Identify(mux, refuse)
	do := func(method, path, addr, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = addr + ":4000"
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("GET", "/public", "192.0.2.1", ""); w.Code != 200 || w.Body.String() != "anonymous" {
		t.Fatalf("public, anonymous: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/public", "192.0.2.1", adaToken); w.Body.String() != "editor bearer" {
		t.Fatalf("public, an editor: %s", w.Body)
	}
	if w := do("POST", "/editors", "192.0.2.1", adaToken); w.Code != 200 || w.Body.String() != "editor bearer" {
		t.Fatalf("editors' route, an editor: %d %s", w.Code, w.Body)
	}
	ran = 0
	if w := do("POST", "/editors", "192.0.2.1", ""); w.Code != http.StatusUnauthorized || ran != 0 {
		t.Fatalf("editors' route without a token: %d, route ran %d times", w.Code, ran)
	}
	for i := range 3 {
		if w := do("POST", "/editors", "192.0.2.1", "guess-"+strings.Repeat("x", i)+"Zq8Lm3Vt7Kp2"); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	if ran != 0 {
		t.Fatal("a wrong token reached the route")
	}
	if w := do("GET", "/public", "192.0.2.1", "guess-Rz4Wq9Xm2Lv7"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("past the limit, on a public route: %d", w.Code)
	}
	if w := do("POST", "/editors", "192.0.2.1", adaToken); w.Code != http.StatusOK {
		t.Fatalf("the right token from a throttled address: %d", w.Code)
	}
	if w := do("POST", "/editors", "192.0.2.2", "guess-Kx7Vm2Qr8Zt3"); w.Code != http.StatusUnauthorized {
		t.Fatalf("another address: %d", w.Code)
	}
	if strings.Contains(logs.String(), "guess-") || !strings.Contains(logs.String(), "192.0.2.1") {
		t.Fatalf("log: %s", logs.String())
	}
	if n := strings.Count(logs.String(), "192.0.2.1"); n != 1 {
		t.Fatalf("%d log lines for one address within a minute", n)
	}
	// Require alone (no Identify above it) judges the request itself.
	direct := g.Require(http.HandlerFunc(route), refuse)
	w := httptest.NewRecorder()
	direct.ServeHTTP(w, request("", ""))
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("Require without Identify: %d", w.Code)
	}
}

// TestSessionBucketGone: sessions cannot be opened or accepted while the
// store cannot be reached (fail closed), and bearer tokens still pass.
func TestSessionBucketGone(t *testing.T) {
	store, js := sessionsOn(t)
	src, _, _ := auth.LoadTokens(auth.TokenSource{Token: adaToken}, discard)
	g := mustGate(t, store, []string{secret1}, nil, src)
	s, err := g.SignIn(request("", ""), adaToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteKeyValue(context.Background(), auth.SessionBucket); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(request(s.Cookie, "")); !errors.Is(err, auth.ErrSessionEnded) {
		t.Fatalf("a session without its bucket: %v", err)
	}
	if _, err := g.SignIn(request("", ""), adaToken); err == nil {
		t.Fatal("a session opened without its bucket")
	}
	if _, err := g.Authenticate(request("", adaToken)); err != nil {
		t.Fatalf("a bearer token without the session bucket: %v", err)
	}
}

// TestSessionBucketReadsThroughLeader: the sessions bucket has no direct
// gets (every read is the leader's, so no replica answers a stale session),
// also when it was made before with them.
func TestSessionBucketReadsThroughLeader(t *testing.T) {
	_, _, js := natstest.Start(t)
	ctx := context.Background()
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: auth.SessionBucket}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if _, err := auth.EnsureSessionBucket(ctx, js, 1); err != nil {
			t.Fatal(err)
		}
	}
	s, err := js.Stream(ctx, "KV_"+auth.SessionBucket)
	if err != nil {
		t.Fatal(err)
	}
	if s.CachedInfo().Config.AllowDirect {
		t.Fatal("the sessions bucket answers direct gets")
	}
	store := auth.NewKVSessions(js)
	rec := auth.SessionRecord{Editor: "ada", Source: "tokens", Credential: "c1", Expires: time.Now().Add(time.Hour)}
	if err := store.Create(ctx, "s1", rec); err != nil {
		t.Fatal(err)
	}
	if got, err := store.Get(ctx, "s1"); err != nil || got.Editor != "ada" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := store.Delete(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, "s1"); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("get after delete: %v", err)
	}
}
