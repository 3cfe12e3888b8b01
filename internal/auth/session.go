package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Sessions of the web pages for editors.
//
// An editor signs in once with a token; the browser then carries a signed
// cookie, "v1.<name>.<expiry>.<token id>.<mac>", instead of the token:
//   - the MAC key is derived from the SHA-256 of the editor's token, so
//     every process that loads the same tokens checks every other's
//     cookies with no shared session store, and removing a token ends every
//     session signed in with it (at the next restart of each process);
//   - the token id (a hash of the token's hash, not the token) says which
//     token signed the cookie, so a cookie of one editor cannot be checked
//     against another's key;
//   - the expiry is inside the MAC, so a cookie cannot be extended.
//
// Forms carry a CSRF token derived from the same key and the cookie, so a
// token is valid for one session only and nothing needs storing.

// SessionTTL is how long a sign-in lasts; no cookie is accepted that
// claims to last longer from now.
const SessionTTL = 12 * time.Hour

// maxClockSkew is how far apart two editors processes' clocks may be for
// the cookies one signs to be accepted by the other.
const maxClockSkew = time.Minute

// Session is a signed-in editor.
type Session struct {
	Editor  string
	Expires time.Time
	// Cookie is the cookie value that carries the session.
	Cookie string
	key    []byte
}

// sessionKey derives a token's session MAC key from its SHA-256.
func sessionKey(tokenHash [32]byte) []byte {
	m := hmac.New(sha256.New, tokenHash[:])
	m.Write([]byte("jevents editor session v1"))
	return m.Sum(nil)
}

// tokenID names a token in cookies without revealing anything usable.
func tokenID(tokenHash [32]byte) string {
	sum := sha256.Sum256(append([]byte("jevents token id\x00"), tokenHash[:]...))
	return hex.EncodeToString(sum[:8])
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return m.Sum(nil)
}

// SignIn checks a token and opens a session for its editor, valid for ttl
// from now.
func (e *Editors) SignIn(token string, now time.Time, ttl time.Duration) (Session, bool) {
	if token == "" {
		return Session{}, false
	}
	h := sha256.Sum256([]byte(token))
	name, ok := e.byHash[h]
	if !ok {
		return Session{}, false
	}
	key := sessionKey(h)
	exp := now.Add(min(ttl, SessionTTL)).Unix()
	payload := []string{"v1", base64.RawURLEncoding.EncodeToString([]byte(name)), strconv.FormatInt(exp, 10), tokenID(h)}
	sig := base64.RawURLEncoding.EncodeToString(mac(key, payload...))
	return Session{Editor: name, Expires: time.Unix(exp, 0), Cookie: strings.Join(append(payload, sig), "."), key: key}, true
}

// Session checks a session cookie's value: signed by a token that is still
// an editor's, for that editor, and not expired.
func (e *Editors) Session(cookie string, now time.Time) (Session, bool) {
	parts := strings.Split(cookie, ".")
	if len(parts) != 5 || parts[0] != "v1" {
		return Session{}, false
	}
	nameB, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Session{}, false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return Session{}, false
	}
	// The server caps a session's life: a cookie that claims to last
	// beyond SessionTTL from now was not signed by this server's rules
	// (or was signed before a clock jumped back), and is refused.
	if time.Unix(exp, 0).After(now.Add(SessionTTL + maxClockSkew)) {
		return Session{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[4])
	if err != nil {
		return Session{}, false
	}
	for h, name := range e.byHash {
		if tokenID(h) != parts[3] {
			continue
		}
		key := sessionKey(h)
		if name != string(nameB) || !hmac.Equal(sig, mac(key, parts[:4]...)) {
			return Session{}, false
		}
		return Session{Editor: name, Expires: time.Unix(exp, 0), Cookie: cookie, key: key}, true
	}
	return Session{}, false
}

// CSRFToken is the token the session's forms carry.
func (s Session) CSRFToken() string {
	return base64.RawURLEncoding.EncodeToString(mac(s.key, "csrf", s.Cookie))
}

// CheckCSRF reports whether a form's token is this session's.
func (s Session) CheckCSRF(token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(s.key) > 0 && hmac.Equal(got, mac(s.key, "csrf", s.Cookie))
}
