package export

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is where a data directory keeps its signing key (base64 of the
// Ed25519 seed, mode 0600); the public key is beside it, KeyFile+".pub".
const KeyFile = "export-ed25519.key"

// SigningKey reads the private key at path (base64 of its 32-byte seed),
// creating it and its public key (path + ".pub") when it does not exist.
// It returns whether it created them.
func SigningKey(path string) (ed25519.PrivateKey, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, false, fmt.Errorf("export: %s is not a signing key (base64 of a %d-byte Ed25519 seed)", path, ed25519.SeedSize)
		}
		return ed25519.NewKeyFromSeed(seed), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(priv.Seed()) + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Close(); err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(path+".pub", []byte(publicKeyText(pub)+"\n"), 0o644); err != nil {
		return nil, false, err
	}
	return priv, true, nil
}
