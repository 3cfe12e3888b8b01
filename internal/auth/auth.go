// Package auth owns who counts as an editor: bearer tokens from the
// environment, a tokens file, or one generated at first start into the data
// directory, and the request context that carries the editor's name.
package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Editors knows the editors' tokens, by their SHA-256, and their names.
// It is immutable and safe for concurrent use.
type Editors struct {
	byHash map[[32]byte]string
}

// Source says where tokens come from, in order of preference.
type Source struct {
	// Token is one token (JEVENTS_EDITOR_TOKEN); its editor is "editor".
	Token string
	// File holds one token per line, as "name:token" or "token"; blank
	// lines and lines starting with # are ignored.
	File string
	// DataDir receives a generated token in DataDir/editor-token (mode 0600)
	// when neither Token nor File is set.
	DataDir string
}

// TokenFile is the generated token's file in a data directory.
func TokenFile(dataDir string) string { return filepath.Join(dataDir, "editor-token") }

// Load reads the editors' tokens. generated is the path of a token file it
// created, so that the caller can log where to find it.
func Load(src Source) (e *Editors, generated string, err error) {
	e = &Editors{byHash: map[[32]byte]string{}}
	switch {
	case src.Token != "":
		if err := e.add("editor", src.Token); err != nil {
			return nil, "", err
		}
	case src.File != "":
		if err := e.readFile(src.File); err != nil {
			return nil, "", err
		}
	case src.DataDir != "":
		path := TokenFile(src.DataDir)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			tok, gerr := NewToken()
			if gerr != nil {
				return nil, "", gerr
			}
			if err := os.MkdirAll(src.DataDir, 0o700); err != nil {
				return nil, "", fmt.Errorf("auth: %w", err)
			}
			if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
				return nil, "", fmt.Errorf("auth: write %s: %w", path, err)
			}
			b, generated = []byte(tok), path
		} else if err != nil {
			return nil, "", fmt.Errorf("auth: read %s: %w", path, err)
		}
		if err := e.add("editor", strings.TrimSpace(string(b))); err != nil {
			return nil, "", err
		}
	default:
		return nil, "", errors.New("auth: no editor token, tokens file or data directory")
	}
	return e, generated, nil
}

func (e *Editors) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, tok, ok := strings.Cut(line, ":")
		if !ok {
			name, tok = fmt.Sprintf("editor-%d", n), line
		}
		if err := e.add(strings.TrimSpace(name), strings.TrimSpace(tok)); err != nil {
			return fmt.Errorf("auth: %s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("auth: %s: %w", path, err)
	}
	if len(e.byHash) == 0 {
		return fmt.Errorf("auth: %s holds no token", path)
	}
	return nil
}

func (e *Editors) add(name, token string) error {
	if err := checkStrength(token); err != nil { // strength.go
		return fmt.Errorf("auth: editor %q: %w", name, err)
	}
	e.byHash[sha256.Sum256([]byte(token))] = name
	return nil
}

// NewToken returns a random token with 256 bits of entropy.
func NewToken() (string, error) {
	for {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("auth: %w", err)
		}
		// Random bytes practically always pass the estimate; a draw that
		// happens not to is drawn again, so a generated token always loads.
		if tok := base64.RawURLEncoding.EncodeToString(b); TokenBits(tok) >= 2*MinTokenBits-64 {
			return tok, nil
		}
	}
}

// Check returns the editor a token belongs to. Tokens are compared by their
// hash, so the lookup's timing says nothing about the token.
func (e *Editors) Check(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	name, ok := e.byHash[sha256.Sum256([]byte(token))]
	return name, ok
}

// FromRequest returns the editor behind an Authorization: Bearer header.
func (e *Editors) FromRequest(r *http.Request) (string, bool) {
	tok, ok := bearerToken(r)
	if !ok {
		return "", false
	}
	return e.Check(tok)
}

type ctxKey struct{}

// WithEditor returns ctx carrying the editor's name.
func WithEditor(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, ctxKey{}, name)
}

// Editor returns the editor a request context carries.
func Editor(ctx context.Context) (string, bool) {
	name, ok := ctx.Value(ctxKey{}).(string)
	return name, ok && name != ""
}

// Identify is middleware that marks requests with a valid editor token; it
// refuses nothing (Guard without a throttle).
func (e *Editors) Identify(next http.Handler) http.Handler { return e.Guard(next, nil) }

// Guard is middleware that marks requests with a valid editor token. A
// request with a wrong bearer token goes on without an editor (routes that
// need one answer 401) and counts against its client in t (nil: no
// throttle); once the client has used up its wrong tokens, it is answered
// 429 at once (throttle.go). A right token is never refused.
func (e *Editors) Guard(next http.Handler, t *Throttle) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, bearer := bearerToken(r)
		if !bearer {
			next.ServeHTTP(w, r)
			return
		}
		if name, ok := e.Check(tok); ok {
			next.ServeHTTP(w, r.WithContext(WithEditor(r.Context(), name)))
			return
		}
		if t != nil && t.Wrong(w, r, "bearer") {
			return // answered 429
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken reads an Authorization: Bearer header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
