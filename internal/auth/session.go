package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Sessions of the web pages for editors.
//
// An editor signs in once (a token typed into the sign-in page, or, one
// day, an identity provider's callback: Gate.OpenSession); the browser then
// carries a cookie "v2.<name>.<session id>.<expiry>.<mac>" instead of the
// token:
//   - the MAC is made with a key derived from the server secret
//     (internal/serversecret, purpose "editor-session"): every editors
//     process that holds the same secret checks every other's cookies, and
//     rotating the secret (a list: sign with the first, accept any) keeps
//     sessions valid while both secrets are listed;
//   - the session is recorded in a store (kvstore.go: the NATS KV bucket
//     jevents_sessions, whose entries expire with the sessions) under its
//     id, with the editor's name and the id of the credential it was opened
//     with (a hash of the token's hash, never the token). A cookie is
//     accepted only while its record exists, names the same editor, and
//     its credential is still that editor's: signing out deletes the
//     record, removing a token withdraws the credential, and either ends
//     every copy of the cookie at once, in every process;
//   - the expiry is inside the MAC, so a cookie cannot be extended, and
//     a cookie that claims to last longer than SessionTTL from now is
//     refused whatever its signature.
//
// Forms carry a CSRF token made from the session id with a key of its own
// (purpose "csrf"): valid for that session only, nothing to store.

// SessionTTL is how long a sign-in lasts; no cookie is accepted that
// claims to last longer from now.
const SessionTTL = 12 * time.Hour

// maxClockSkew is how far apart two editors processes' clocks may be for
// the cookies one signs to be accepted by the other.
const maxClockSkew = time.Minute

// SessionRecord is what the store holds about a session.
type SessionRecord struct {
	Editor string `json:"editor"`
	// Source and Credential name what the session was opened with: the
	// Source's name and the credential's id (TokenID), never a secret.
	Source     string    `json:"source"`
	Credential string    `json:"credential"`
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"`
}

// ErrNoSession is a store's answer for a session it does not hold.
var ErrNoSession = errors.New("auth: no such session")

// SessionStore records sessions, shared by every editors process.
// Implementations are safe for concurrent use and forget a session by
// itself once it has expired.
type SessionStore interface {
	// Create records a new session.
	Create(ctx context.Context, id string, rec SessionRecord) error
	// Get returns a session's record, or ErrNoSession.
	Get(ctx context.Context, id string) (SessionRecord, error)
	// Delete forgets a session (signing out); forgetting one that is not
	// there is no error.
	Delete(ctx context.Context, id string) error
}

// Session is a session just opened.
type Session struct {
	Identity
	Expires time.Time
	// Cookie is the cookie value that carries the session.
	Cookie string
}

// newSessionID returns 128 random bits, URL-safe base64 (a valid KV key).
func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookieMessage is what a cookie's MAC covers.
func cookieMessage(nameB64, id, exp string) []byte {
	return []byte(strings.Join([]string{"v2", nameB64, id, exp}, "\x00"))
}

// sessionCookie is a cookie's parts once its MAC and expiry are checked.
type sessionCookie struct {
	editor  string
	id      string
	expires time.Time
}

// parseCookie checks a cookie's form, signature and expiry; the record is
// the gate's to check.
func (g *Gate) parseCookie(v string, now time.Time) (sessionCookie, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 5 || parts[0] != "v2" {
		return sessionCookie{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[4])
	if err != nil || !g.sessionKeys.Verify(cookieMessage(parts[1], parts[2], parts[3]), sig) {
		return sessionCookie{}, false
	}
	nameB, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return sessionCookie{}, false
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return sessionCookie{}, false
	}
	expires := time.Unix(exp, 0)
	if !now.Before(expires) || expires.After(now.Add(SessionTTL+maxClockSkew)) {
		return sessionCookie{}, false
	}
	return sessionCookie{editor: string(nameB), id: parts[2], expires: expires}, true
}

// signCookie makes a session's cookie value.
func (g *Gate) signCookie(editor, id string, expires time.Time) string {
	name := base64.RawURLEncoding.EncodeToString([]byte(editor))
	exp := strconv.FormatInt(expires.Unix(), 10)
	sig := base64.RawURLEncoding.EncodeToString(g.sessionKeys.Sign(cookieMessage(name, id, exp)))
	return strings.Join([]string{"v2", name, id, exp, sig}, ".")
}

// CSRFToken is the token the forms of id's session carry ("" without a
// session: a bearer token is not sent by browsers on their own).
func (g *Gate) CSRFToken(id Identity) string {
	if id.Session == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(g.csrfKeys.Sign([]byte("csrf\x00" + id.Session)))
}

// CheckCSRF reports whether a form's token is id's session's. A request
// authenticated by a bearer token needs none (a browser never adds one by
// itself, so another site cannot make it send one).
func (g *Gate) CheckCSRF(id Identity, token string) bool {
	if id.Method == Bearer {
		return true
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && id.Session != "" && g.csrfKeys.Verify([]byte("csrf\x00"+id.Session), got)
}
