package auth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Tokens are editor tokens, by their SHA-256, with their editors' names:
// a Source fixed for the life of the process. Immutable and safe for
// concurrent use.
type Tokens struct {
	name   string
	byHash map[[32]byte]string
	byID   map[string]string // token id → editor
}

var _ Source = (*Tokens)(nil)

func newTokens(name string) *Tokens {
	return &Tokens{name: name, byHash: map[[32]byte]string{}, byID: map[string]string{}}
}

// Name implements Source.
func (t *Tokens) Name() string { return t.name }

// Token implements Source. Tokens are compared by their hash, so the
// lookup's timing says nothing about the token.
func (t *Tokens) Token(token string) (Principal, bool) {
	if token == "" {
		return Principal{}, false
	}
	h := sha256.Sum256([]byte(token))
	name, ok := t.byHash[h]
	if !ok {
		return Principal{}, false
	}
	return Principal{Editor: name, Credential: tokenIDOf(h)}, true
}

// Current implements Source.
func (t *Tokens) Current(credential string) (string, error) {
	name, ok := t.byID[credential]
	if !ok {
		return "", ErrWithdrawn
	}
	return name, nil
}

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.byHash) }

func (t *Tokens) add(name, token string) error {
	if err := checkStrength(token); err != nil { // strength.go
		return fmt.Errorf("auth: editor %q: %w", name, err)
	}
	h := sha256.Sum256([]byte(token))
	t.byHash[h] = name
	t.byID[tokenIDOf(h)] = name
	return nil
}

// TokenSource says where tokens come from, in order of preference.
type TokenSource struct {
	// Token is one token (JEVENTS_EDITOR_TOKEN); its editor is "editor".
	Token string
	// File holds one token per line, as "name:token" or "token"; blank
	// lines and lines starting with # are ignored. It is reloaded when it
	// changes (TokensFile).
	File string
	// DataDir receives a generated token in DataDir/editor-token (mode 0600)
	// when neither Token nor File is set.
	DataDir string
}

// TokenFile is the generated token's file in a data directory.
func TokenFile(dataDir string) string { return filepath.Join(dataDir, "editor-token") }

// LoadTokens reads the editors' tokens: a *Tokens for a token or the data
// directory's, a *TokensFile (call Watch) for a file. generated is the
// path of a token file it created, so that the caller can log where to
// find it. Every token must pass the strength check, and a file must be
// readable and hold one.
func LoadTokens(src TokenSource, log *slog.Logger) (s Source, generated string, err error) {
	switch {
	case src.Token != "":
		t := newTokens("tokens")
		if err := t.add("editor", src.Token); err != nil {
			return nil, "", err
		}
		return t, "", nil
	case src.File != "":
		f, err := OpenTokensFile(src.File, log)
		if err != nil {
			return nil, "", err
		}
		return f, "", nil
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
		t := newTokens("tokens")
		if err := t.add("editor", strings.TrimSpace(string(b))); err != nil {
			return nil, "", err
		}
		return t, generated, nil
	}
	return nil, "", errors.New("auth: no editor token, tokens file or data directory")
}

// maxTokensFileBytes bounds a tokens file.
const maxTokensFileBytes = 1 << 20

// parseTokensFile reads a tokens file. strict refuses the whole file for
// one bad line (at start: the operator is told at once); otherwise bad
// lines are left out and returned as errors (a reload: a typo on one line
// must not keep a removed token valid, nor lock everyone else out).
func parseTokensFile(b []byte, path string, strict bool) (*Tokens, []error) {
	t := newTokens("tokens-file")
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(b))
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
		if err := t.add(strings.TrimSpace(name), strings.TrimSpace(tok)); err != nil {
			errs = append(errs, fmt.Errorf("auth: %s line %d: %w", path, n, err))
			if strict {
				return nil, errs
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, []error{fmt.Errorf("auth: %s: %w", path, err)}
	}
	return t, errs
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokensFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTokensFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxTokensFileBytes)
	}
	return b, nil
}

// TokensFile is a Source read from a file of tokens and read again when
// the file changes (Watch): removing a line ends that editor's API access
// and every session opened with that token, without a restart; adding one
// lets a new editor in. Safe for concurrent use.
//
// On a reload, a line that does not pass (a weak token) is left out and
// logged, the others apply; a file that cannot be read (removed, no
// permission) leaves no editor at all until it can: access fails closed,
// never open with tokens someone meant to remove. Sessions are refused
// meanwhile but not ended, so an editor's replacing the file (which may
// leave it missing for a moment) signs nobody out; a token that a
// readable file no longer holds ends its sessions for good.
type TokensFile struct {
	path    string
	log     *slog.Logger
	current atomic.Pointer[Tokens]
	sum     [32]byte // of the contents last applied; read and written by Reload only
	failed  bool     // the last reload could not read the file
	// unreadable is failed, for readers: sessions are refused, not ended.
	unreadable atomic.Bool
}

var _ Source = (*TokensFile)(nil)

// OpenTokensFile reads path strictly: every line must pass, and the file
// must hold a token.
func OpenTokensFile(path string, log *slog.Logger) (*TokensFile, error) {
	b, err := readBounded(path)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", path, err)
	}
	t, errs := parseTokensFile(b, path, true)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if t.Len() == 0 {
		return nil, fmt.Errorf("auth: %s holds no token", path)
	}
	f := &TokensFile{path: path, log: log, sum: sha256.Sum256(b)}
	f.current.Store(t)
	return f, nil
}

// Name implements Source.
func (f *TokensFile) Name() string { return "tokens-file" }

// Token implements Source.
func (f *TokensFile) Token(token string) (Principal, bool) { return f.current.Load().Token(token) }

// Current implements Source.
func (f *TokensFile) Current(credential string) (string, error) {
	if f.unreadable.Load() {
		return "", ErrSourceUnavailable
	}
	return f.current.Load().Current(credential)
}

// Len is the number of tokens now in force.
func (f *TokensFile) Len() int { return f.current.Load().Len() }

// Reload reads the file again and applies it when its contents changed.
// Not safe to call concurrently with itself (Watch calls it).
func (f *TokensFile) Reload() {
	b, err := readBounded(f.path)
	if err != nil {
		if !f.failed {
			f.log.Error("editor tokens file unreadable: no editor is accepted until it can be read",
				slog.String("path", f.path), slog.Any("err", err))
		}
		f.failed = true
		f.unreadable.Store(true)
		f.sum = [32]byte{}
		f.current.Store(newTokens("tokens-file"))
		return
	}
	sum := sha256.Sum256(b)
	if sum == f.sum && !f.failed {
		return
	}
	f.failed = false
	f.sum = sum
	defer f.unreadable.Store(false)
	t, errs := parseTokensFile(b, f.path, false)
	if t == nil {
		t = newTokens("tokens-file")
	}
	for _, err := range errs {
		f.log.Error("editor tokens file: line left out", slog.Any("err", err))
	}
	f.current.Store(t)
	f.log.Info("editor tokens file reloaded", slog.String("path", f.path), slog.Int("tokens", t.Len()))
}

// ReloadEvery is how often Watch looks at the tokens file.
const ReloadEvery = time.Second

// Watch reloads the file every interval (ReloadEvery when 0) until ctx
// ends. It reads the (small, bounded) file each time and compares its
// hash, so every change counts, whatever the file system's timestamps
// and whether the file was edited in place or replaced.
func (f *TokensFile) Watch(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = ReloadEvery
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			f.Reload()
		}
	}
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
