package embednats

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// The files the embedded server's clients use, in the data directory.
//
// The user is an nkey: the server knows only its public half, and a client
// proves it holds the seed by signing the server's nonce, so nothing secret
// ever crosses the connection. The seed file is what `nats --nkey FILE`
// and nats.NkeyOptionFromSeed read. The context file is a `nats` CLI
// context (ADR-21: url and nkey) that says where the running server listens;
// `jevents rebuild|seed|setup` read it when no --nats is given, and an
// operator can copy it to ~/.config/nats/context/ to use `nats --context`.
const (
	SeedFile    = "nats-user.nk"
	ContextFile = "nats-context.json"
)

// Credentials are the embedded server's one user.
type Credentials struct {
	// SeedFile is the path of the user's nkey seed (mode 0600).
	SeedFile string
	// Public is the user's public nkey, which the server is configured with.
	Public string
}

// Option is the client option that connects as the user.
func (c Credentials) Option() (nats.Option, error) {
	o, err := nats.NkeyOptionFromSeed(c.SeedFile)
	if err != nil {
		return nil, fmt.Errorf("embednats: credentials %s: %w", c.SeedFile, err)
	}
	return o, nil
}

// EnsureCredentials reads the user's seed from dataDir, generating it at
// first start (mode 0600, written whole or not at all). created says it
// was generated now. A seed file readable by others is made private again.
func EnsureCredentials(dataDir string) (c Credentials, created bool, err error) {
	path, err := filepath.Abs(filepath.Join(dataDir, SeedFile))
	if err != nil {
		return Credentials{}, false, fmt.Errorf("embednats: %w", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return Credentials{}, false, fmt.Errorf("embednats: generate credentials: %w", err)
		}
		seed, err := kp.Seed()
		if err != nil {
			return Credentials{}, false, fmt.Errorf("embednats: generate credentials: %w", err)
		}
		if err := writeFileAtomic(path, append(seed, '\n')); err != nil {
			return Credentials{}, false, fmt.Errorf("embednats: write credentials: %w", err)
		}
		b, created = seed, true
	} else if err != nil {
		return Credentials{}, false, fmt.Errorf("embednats: read credentials: %w", err)
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(b))))
	if err != nil {
		return Credentials{}, false, fmt.Errorf("embednats: credentials %s: not an nkey seed: %w", path, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return Credentials{}, false, fmt.Errorf("embednats: credentials %s: %w", path, err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return Credentials{}, false, fmt.Errorf("embednats: credentials %s: not a user's seed", path)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return Credentials{}, false, fmt.Errorf("embednats: credentials %s are readable by others and cannot be made private: %w", path, err)
		}
	}
	return Credentials{SeedFile: path, Public: pub}, created, nil
}

// Context is the connection file's content: a `nats` CLI context.
type Context struct {
	Description string `json:"description,omitempty"`
	URL         string `json:"url"`
	NKey        string `json:"nkey"`
}

// WriteContext records where the server started on dataDir listens and the
// user's seed file, and returns the file's path. A server that listens on
// no port removes the file instead (nothing outside the process can reach
// it).
func WriteContext(dataDir, url string, c Credentials) (string, error) {
	path, err := filepath.Abs(filepath.Join(dataDir, ContextFile))
	if err != nil {
		return "", fmt.Errorf("embednats: %w", err)
	}
	if url == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("embednats: %w", err)
		}
		return "", nil
	}
	b, _ := json.MarshalIndent(Context{
		Description: "Justice Events: the embedded NATS server of " + filepath.Dir(path),
		URL:         url, NKey: c.SeedFile,
	}, "", "  ")
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return "", fmt.Errorf("embednats: write %s: %w", path, err)
	}
	return path, nil
}

// ErrNoContext says that no server has written a connection file in the
// data directory (none was started there, or it listens on no port).
var ErrNoContext = errors.New("no connection file")

// ReadContext reads the connection file of dataDir.
func ReadContext(dataDir string) (Context, error) {
	path := filepath.Join(dataDir, ContextFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Context{}, fmt.Errorf("%s: %w", path, ErrNoContext)
	}
	if err != nil {
		return Context{}, err
	}
	var c Context
	if err := json.Unmarshal(b, &c); err != nil || c.URL == "" || c.NKey == "" {
		return Context{}, fmt.Errorf("%s: not a connection file (want url and nkey)", path)
	}
	return c, nil
}

// writeFileAtomic writes a private file whole or not at all: a temporary
// file in the same directory, synced, renamed over path.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
