package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/justiceevents/jevents/internal/serversecret"
)

// The gate's refusals. Each says what the client sent, so that the answer
// can tell it what to do (httpapi maps them to 401 or 429).
var (
	// ErrNoCredentials: neither a bearer token nor a session cookie.
	ErrNoCredentials = errors.New("auth: editor token required")
	// ErrTokenNotAccepted: an Authorization header whose token is no
	// editor's (or that is not a bearer token), or a wrong token typed
	// into the sign-in page.
	ErrTokenNotAccepted = errors.New("auth: editor token not accepted")
	// ErrSessionEnded: a session cookie that is forged, expired, signed
	// out, or opened with a token that is no longer an editor's.
	ErrSessionEnded = errors.New("auth: session ended")
)

// ThrottledError refuses a wrong token from a client that has used up its
// wrong tokens (throttle.go).
type ThrottledError struct {
	// Wait is how long until the client may try again.
	Wait time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: too many wrong editor tokens; wait %s", e.Wait.Round(time.Second))
}

// CookieName is the session cookie's name.
const CookieName = "jevents_editor"

// Gate is the one authentication component: it turns a request into an
// Identity, opens and ends sessions, and makes and checks their CSRF
// tokens. Safe for concurrent use.
type Gate struct {
	sources     []Source
	sessions    SessionStore
	sessionKeys *serversecret.Keys
	csrfKeys    *serversecret.Keys
	throttle    *Throttle
	log         *slog.Logger
	now         func() time.Time
}

// GateConfig is what a Gate is built from.
type GateConfig struct {
	// Sources say who the editors are, asked in order; at least one.
	Sources []Source
	// Sessions records the page sessions (KVSessions).
	Sessions SessionStore
	// Secret signs the session cookies and CSRF tokens (each through a
	// key derived for it).
	Secret *serversecret.Keys
	// Throttle counts wrong tokens per client (nil: none).
	Throttle *Throttle
	Log      *slog.Logger
}

// NewGate returns the gate of cfg.
func NewGate(cfg GateConfig) (*Gate, error) {
	if len(cfg.Sources) == 0 || cfg.Sessions == nil || cfg.Secret == nil || cfg.Log == nil {
		return nil, errors.New("auth: a gate needs sources, a session store, the server secret and a logger")
	}
	return &Gate{sources: cfg.Sources, sessions: cfg.Sessions, throttle: cfg.Throttle, log: cfg.Log,
		sessionKeys: cfg.Secret.Derive("editor-session"), csrfKeys: cfg.Secret.Derive("csrf"), now: time.Now}, nil
}

// sessionTimeout bounds a session store's answer: a request never waits
// long on an unreachable store.
const sessionTimeout = 5 * time.Second

// Authenticate turns a request into the editor it comes from. A request
// with an Authorization header is judged by it alone; otherwise by its
// session cookie. A wrong token counts against the client (throttle.go);
// a client that has used up its wrong tokens gets *ThrottledError, but the
// right token always passes.
func (g *Gate) Authenticate(r *http.Request) (Identity, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			if src, p, ok := g.token(strings.TrimSpace(tok)); ok {
				return Identity{Editor: p.Editor, Method: Bearer, Source: src.Name()}, nil
			}
		}
		return Identity{}, g.wrong(r, "bearer")
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		return Identity{}, ErrNoCredentials
	}
	return g.session(r.Context(), c.Value)
}

// token finds the editor of a token among the sources.
func (g *Gate) token(tok string) (Source, Principal, bool) {
	if tok == "" {
		return nil, Principal{}, false
	}
	for _, s := range g.sources {
		if p, ok := s.Token(tok); ok {
			return s, p, true
		}
	}
	return nil, Principal{}, false
}

// wrong counts a wrong token tried through via.
func (g *Gate) wrong(r *http.Request, via string) error {
	if g.throttle != nil {
		if throttled, wait := g.throttle.Failed(r, via); throttled {
			return &ThrottledError{Wait: wait}
		}
	}
	return ErrTokenNotAccepted
}

// session checks a cookie: its signature and expiry, its record, and that
// the credential it was opened with is still its editor's.
func (g *Gate) session(ctx context.Context, cookie string) (Identity, error) {
	now := g.now()
	c, ok := g.parseCookie(cookie, now)
	if !ok {
		return Identity{}, ErrSessionEnded
	}
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	rec, err := g.sessions.Get(ctx, c.id)
	if err != nil {
		if !errors.Is(err, ErrNoSession) {
			g.log.Warn("cannot read an editor's session: refused", slog.Any("err", err))
		}
		return Identity{}, ErrSessionEnded
	}
	if rec.Editor != c.editor || !now.Before(rec.Expires) {
		return Identity{}, ErrSessionEnded
	}
	err = ErrWithdrawn // a source no longer configured
	for _, s := range g.sources {
		if s.Name() != rec.Source {
			continue
		}
		var editor string
		editor, err = s.Current(rec.Credential)
		if err == nil && editor != rec.Editor {
			err = ErrWithdrawn // the token is now another editor's
		}
		if err == nil {
			return Identity{Editor: rec.Editor, Method: SessionCookie, Source: rec.Source, Session: c.id}, nil
		}
		break
	}
	if !errors.Is(err, ErrWithdrawn) {
		return Identity{}, ErrSessionEnded // refused while the source cannot tell; kept
	}
	// The credential was withdrawn: the session ends for good, even if
	// the same token comes back.
	if err := g.sessions.Delete(ctx, c.id); err != nil {
		g.log.Warn("cannot end a withdrawn editor's session (it stays refused while the token is absent)", slog.Any("err", err))
	}
	return Identity{}, ErrSessionEnded
}

// SignIn checks a token typed into the sign-in page and opens a session
// for its editor. A wrong one counts against the client like a wrong
// bearer token: ErrTokenNotAccepted, or *ThrottledError.
func (g *Gate) SignIn(r *http.Request, token string) (Session, error) {
	src, p, ok := g.token(token)
	if !ok {
		return Session{}, g.wrong(r, "sign_in")
	}
	return g.OpenSession(r.Context(), src.Name(), p)
}

// OpenSession records a session for p, whom the source named src vouched
// for, and returns its cookie. It is what every way of signing in ends
// with (a token today; an identity provider's callback would call it too).
func (g *Gate) OpenSession(ctx context.Context, src string, p Principal) (Session, error) {
	now := g.now()
	exp := now.Add(SessionTTL).Truncate(time.Second)
	id := newSessionID()
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	if err := g.sessions.Create(ctx, id, SessionRecord{Editor: p.Editor, Source: src, Credential: p.Credential,
		Created: now.UTC(), Expires: exp.UTC()}); err != nil {
		return Session{}, err
	}
	return Session{Identity: Identity{Editor: p.Editor, Method: SessionCookie, Source: src, Session: id},
		Expires: exp, Cookie: g.signCookie(p.Editor, id, exp)}, nil
}

// SignOut ends id's session for every copy of its cookie.
func (g *Gate) SignOut(ctx context.Context, id Identity) error {
	if id.Session == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	return g.sessions.Delete(ctx, id.Session)
}

// Refuse answers a request the gate refused, with why.
type Refuse func(w http.ResponseWriter, r *http.Request, err error)

type resultKey struct{}

// result is the gate's verdict on a request, kept in its context so that
// a request is authenticated once (and a wrong token counted once).
type result struct {
	id  Identity
	err error
}

// Identify is middleware that authenticates every request: an editor's
// request carries its Identity in the context (pages and APIs that anyone
// may use show editors more), any other goes on without one. The one
// exception is a client that has used up its wrong tokens and sends
// another: it is refused at once, on any route.
func (g *Gate) Identify(next http.Handler, refuse Refuse) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header["Authorization"]) == 0 && len(r.Header["Cookie"]) == 0 {
			// No credentials at all (every feed poll, every visitor):
			// nothing to judge or throttle, and no copy of the request
			// to carry "no identity" — Required judges such a request
			// itself and finds ErrNoCredentials, as Authenticate would.
			next.ServeHTTP(w, r)
			return
		}
		id, err := g.Authenticate(r)
		var te *ThrottledError
		if errors.As(err, &te) {
			refuse(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), resultKey{}, result{id, err})
		if err == nil {
			ctx = WithIdentity(ctx, id)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Required is a handler behind the gate (Require): what the route table's
// test looks for on every route declared for editors.
type Required struct {
	gate   *Gate
	next   http.Handler
	refuse Refuse
}

// Require returns next behind the gate: a request without an editor's
// identity is answered by refuse, and never reaches next.
func (g *Gate) Require(next http.Handler, refuse Refuse) *Required {
	return &Required{gate: g, next: next, refuse: refuse}
}

// ServeHTTP implements http.Handler.
func (q *Required) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, ok := r.Context().Value(resultKey{}).(result)
	if !ok { // not behind Identify: judge the request here
		res.id, res.err = q.gate.Authenticate(r)
	}
	if res.err != nil {
		q.refuse(w, r, res.err)
		return
	}
	q.next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), res.id)))
}
