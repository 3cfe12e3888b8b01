// Package auth owns who counts as an editor, and the one gate that tells:
//
//   - Gate (gate.go) turns a request — an Authorization: Bearer token, or
//     the editors' page session cookie — into an Identity in the request
//     context, or a refusal; the wrong-token throttle (throttle.go) is
//     inside it. Every editors-only route, page and command (the CLI
//     speaks the API) passes through it: the composition root wraps each
//     route declared for editors with Gate.Require, in one place.
//   - A Source (this file) says who the editors are: today editor tokens,
//     fixed at start (Tokens: JEVENTS_EDITOR_TOKEN, or the token generated
//     into the data directory) or a tokens file reloaded when it changes
//     (TokensFile, tokens.go). An OpenID Connect provider would be one more
//     Source, with its own sign-in routes that open sessions through
//     Gate.OpenSession; producers, projections and pages read only the
//     Identity.
//   - Sessions (session.go) are signed with the server secret
//     (internal/serversecret), never with a token, carry the editor's name
//     and a session id, and are recorded in a store (a NATS KV bucket,
//     kvstore.go) so that signing out, or the removal of the token a
//     session was opened with, ends it at once in every process.
//
// The package is leaf plumbing: it imports nothing of the product.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// Method is how a request proved its editor.
type Method string

const (
	// Bearer: an Authorization: Bearer token (the API, the CLI).
	Bearer Method = "bearer"
	// SessionCookie: the editors' page session cookie.
	SessionCookie Method = "session"
)

// Identity is the editor a request comes from.
type Identity struct {
	// Editor is the editor's name (as the log's actor records it).
	Editor string
	// Method is how the request proved it.
	Method Method
	// Source names the Source that vouched for the editor.
	Source string
	// Session is the session id when Method is SessionCookie.
	Session string
}

type ctxKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the identity a request context carries: set by the gate
// only (Gate.Identify, Gate.Require).
func From(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok && id.Editor != ""
}

// Principal is an editor as a Source knows it: the name, and the id of
// the credential that proved it (never the credential itself), which
// sessions record so that they end when the credential is withdrawn.
type Principal struct {
	Editor     string
	Credential string
}

// Source says who the editors are. Implementations are safe for
// concurrent use; their answers may change over time (a reloaded file, a
// revoked grant), and the gate asks again on every request.
type Source interface {
	// Name names the source in session records ("tokens", "tokens-file").
	Name() string
	// Token returns the editor a bearer token (or a token typed into the
	// sign-in page) belongs to.
	Token(token string) (Principal, bool)
	// Current returns the editor a credential id still belongs to,
	// ErrWithdrawn once it is no editor's (the gate then ends the
	// sessions opened with it, for good), or another error when the
	// source cannot tell just now (sessions are refused meanwhile, and
	// kept).
	Current(credential string) (editor string, err error)
}

// ErrWithdrawn is a Source's answer for a credential that is no editor's.
var ErrWithdrawn = errors.New("auth: credential withdrawn")

// ErrSourceUnavailable is a Source's answer while it cannot tell.
var ErrSourceUnavailable = errors.New("auth: identity source unavailable")

// TokenID names a token in session records and logs without revealing
// anything usable: a hash of the token's SHA-256.
func TokenID(token string) string {
	return tokenIDOf(sha256.Sum256([]byte(token)))
}

func tokenIDOf(tokenHash [32]byte) string {
	sum := sha256.Sum256(append([]byte("jevents token id\x00"), tokenHash[:]...))
	return hex.EncodeToString(sum[:16])
}
