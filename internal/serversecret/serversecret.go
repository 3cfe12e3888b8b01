// Package serversecret owns the server's own secret: the key material that
// signs what the server hands out and later takes back (editors' page
// sessions, their CSRF tokens, organisers' private links), so that nothing
// it signs depends on a credential someone else holds.
//
// The secret is generated at the first start into <data>/server-secret
// (mode 0600, 32 random bytes written as 64 hex digits) when nothing is
// configured; a cluster configures it instead, as a file of one secret per
// line (--server-secret-file), the same file on every process that checks
// what the others sign.
//
// Rotation: the first secret of the list signs, every secret verifies. To
// rotate, put the new secret on a new first line and keep the old one below
// it; restart (or roll) the processes; once everything signed with the old
// one has expired (editors' sessions: 12 hours; organisers' private links:
// their TTL, 60 days by default), remove its line and roll again. A secret removed from the list ends at once everything signed
// with it.
//
// Each use derives its own key (Derive), so that a MAC made for one
// purpose is never accepted for another. The package imports nothing of
// the product.
package serversecret

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MinLen is the least length of a configured secret, in bytes: 32, as
// `openssl rand -base64 32` (44 characters) or `openssl rand -hex 32` (64)
// make.
const MinLen = 32

// maxFileBytes bounds a secrets file: a few secrets, never megabytes.
const maxFileBytes = 64 << 10

// FileName is the generated secret's file in a data directory.
const FileName = "server-secret"

// File is the generated secret's path in dataDir.
func File(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Keys is a list of secrets: the first signs, any verifies. Immutable and
// safe for concurrent use.
type Keys struct {
	keys [][]byte
}

// Load returns the server's keys: the configured secrets when there are
// any (the first signs), else the secret of dataDir's server-secret file,
// generated (mode 0600) when missing. Every secret must be at least MinLen
// bytes long.
func Load(dataDir string, configured []string) (*Keys, error) {
	if len(configured) > 0 {
		k := &Keys{}
		for i, s := range configured {
			if len(s) < MinLen {
				return nil, fmt.Errorf("serversecret: secret %d of %d is %d bytes long, want at least %d (generate one with `openssl rand -hex 32`)",
					i+1, len(configured), len(s), MinLen)
			}
			k.keys = append(k.keys, []byte(s))
		}
		return k, nil
	}
	if dataDir == "" {
		return nil, errors.New("serversecret: no secret configured and no data directory to generate one into")
	}
	path := File(dataDir)
	secrets, err := ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := generate(dataDir, path); err != nil {
			return nil, err
		}
		secrets, err = ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("serversecret: %s holds no secret", path)
	}
	return Load("", secrets)
}

// generate writes a new secret into path; a file another process created
// meanwhile is kept (O_EXCL), so two starts never disagree.
func generate(dataDir, path string) error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("serversecret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("serversecret: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, ".server-secret-*")
	if err != nil {
		return fmt.Errorf("serversecret: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("serversecret: %w", err)
	}
	if _, err := tmp.WriteString(hex.EncodeToString(b) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("serversecret: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("serversecret: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("serversecret: write %s: %w", path, err)
	}
	// A hard link fails if path exists: the first writer wins, whole.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("serversecret: write %s: %w", path, err)
	}
	return nil
}

// ReadFile reads a secrets file: one secret per line, surrounding spaces
// trimmed, blank lines and lines starting with # skipped, in order (the
// first signs).
func ReadFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("serversecret: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("serversecret: read %s: %w", path, err)
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("serversecret: %s is larger than %d bytes", path, maxFileBytes)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out, nil
}

// Derive returns the keys for one purpose ("editor-session", "csrf",
// "organiser-link"): each secret's HKDF-SHA256 expansion with the purpose
// as its info, in the same order, so that rotation carries over and a MAC
// made for one purpose is never valid for another.
func (k *Keys) Derive(purpose string) *Keys {
	d := &Keys{keys: make([][]byte, len(k.keys))}
	for i, key := range k.keys {
		sub, err := hkdf.Key(sha256.New, key, nil, "jevents/"+purpose, sha256.Size)
		if err != nil { // only for lengths beyond 255 hashes
			panic("serversecret: " + err.Error())
		}
		d.keys[i] = sub
	}
	return d
}

// Sign returns the HMAC-SHA256 of msg with the first key.
func (k *Keys) Sign(msg []byte) []byte {
	m := hmac.New(sha256.New, k.keys[0])
	m.Write(msg)
	return m.Sum(nil)
}

// Verify reports whether mac is msg's HMAC-SHA256 with any of the keys,
// comparing in constant time (every key is tried, whichever matches).
func (k *Keys) Verify(msg, mac []byte) bool {
	ok := false
	for _, key := range k.keys {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		if hmac.Equal(m.Sum(nil), mac) {
			ok = true
		}
	}
	return ok
}
