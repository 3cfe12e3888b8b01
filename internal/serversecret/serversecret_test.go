package serversecret_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/justiceevents/jevents/internal/serversecret"
)

const (
	secretA = "a3f1c09e7b5d2468ac13e5f7092b4d6f8e1a3c5b7d9f0e2a4c6b8d0f1e3a5c7b"
	secretB = "Qx7Vm2Kp9Lt4Zr8Wn3Hb6Jc1Fd5Gs0Ya2Ue4Io6Pq8="
)

func mustLoad(t *testing.T, dataDir string, configured ...string) *serversecret.Keys {
	t.Helper()
	k, err := serversecret.Load(dataDir, configured)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestGenerated: without configured secrets, the first start generates
// one into the data directory (0600, 32 random bytes as hex), and every
// later start, or a second process on the same directory, reads the same
// one: what one signed, the other verifies.
func TestGenerated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	var wg sync.WaitGroup
	keys := make([]*serversecret.Keys, 8)
	for i := range keys {
		wg.Go(func() {
			k, err := serversecret.Load(dir, nil)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	fi, err := os.Stat(serversecret.File(dir))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(serversecret.File(dir))
	if s := strings.TrimSpace(string(b)); len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
		t.Fatalf("generated secret %q: want 64 hex digits", s)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the data directory holds %d files, want the secret only", len(entries))
	}
	msg := []byte("session 1")
	mac := keys[0].Sign(msg)
	for i, k := range keys {
		if !k.Verify(msg, mac) {
			t.Fatalf("start %d does not verify what start 0 signed: the starts disagree on the secret", i)
		}
	}
	if !mustLoad(t, dir).Verify(msg, mac) {
		t.Fatal("a restart does not verify what was signed before it")
	}
	other := mustLoad(t, t.TempDir())
	if other.Verify(msg, mac) {
		t.Fatal("another data directory's secret verifies this one's MAC")
	}
}

// TestConfigured: configured secrets win over the data directory (which
// is left untouched); each must be at least MinLen bytes; a file of them
// reads one per line, comments and blanks skipped.
func TestConfigured(t *testing.T) {
	dir := t.TempDir()
	k := mustLoad(t, dir, secretA)
	if _, err := os.Stat(serversecret.File(dir)); !os.IsNotExist(err) {
		t.Fatalf("a configured secret still generated one: %v", err)
	}
	if !mustLoad(t, "", secretA).Verify([]byte("m"), k.Sign([]byte("m"))) {
		t.Fatal("the same configured secret does not verify")
	}
	if _, err := serversecret.Load(dir, []string{secretA, "short"}); err == nil || !strings.Contains(err.Error(), "secret 2 of 2") {
		t.Fatalf("a short secret: %v", err)
	}
	if _, err := serversecret.Load("", nil); err == nil {
		t.Fatal("no secret and no data directory loaded")
	}
	path := filepath.Join(t.TempDir(), "secrets")
	if err := os.WriteFile(path, []byte("# rotated 2026-12-01\n\n  "+secretB+"  \n"+secretA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := serversecret.ReadFile(path)
	if err != nil || len(got) != 2 || got[0] != secretB || got[1] != secretA {
		t.Fatalf("ReadFile: %q %v", got, err)
	}
	if _, err := serversecret.ReadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing file read")
	}
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte(secretA+"\n"), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := serversecret.ReadFile(big); err == nil {
		t.Fatal("a file of megabytes read")
	}
}

// TestRotation: the first secret signs and any verifies; a secret removed
// from the list ends what it signed.
func TestRotation(t *testing.T) {
	msg := []byte("editor ada, session 7")
	old := mustLoad(t, "", secretA)
	signedOld := old.Sign(msg)

	rotated := mustLoad(t, "", secretB, secretA) // the new one first, the old one kept
	if !rotated.Verify(msg, signedOld) {
		t.Fatal("during rotation, what the old secret signed is refused")
	}
	signedNew := rotated.Sign(msg)
	if bytes.Equal(signedNew, signedOld) {
		t.Fatal("the rotated list signs with the old secret")
	}
	if !old.Verify(msg, signedOld) || old.Verify(msg, signedNew) {
		t.Fatal("a process still on the old list: old verifies, new does not")
	}
	done := mustLoad(t, "", secretB) // the old one removed
	if done.Verify(msg, signedOld) {
		t.Fatal("what a removed secret signed is still accepted")
	}
	if !done.Verify(msg, signedNew) {
		t.Fatal("what the new secret signed is refused")
	}
}

// TestDerive: each purpose has its own key (a MAC for one never verifies
// for another, nor for the secret itself), derivation is deterministic and
// keeps the rotation order; tampered messages and MACs are refused.
func TestDerive(t *testing.T) {
	k := mustLoad(t, "", secretB, secretA)
	msg := []byte("session 42")
	sess, csrf, link := k.Derive("editor-session"), k.Derive("csrf"), k.Derive("organiser-link")
	mac := sess.Sign(msg)
	if csrf.Verify(msg, mac) || link.Verify(msg, mac) || k.Verify(msg, mac) {
		t.Fatal("a MAC of one purpose verifies for another")
	}
	if !mustLoad(t, "", secretB).Derive("editor-session").Verify(msg, mac) {
		t.Fatal("derivation is not deterministic")
	}
	// A process that still signs with the old secret: its derived MACs
	// verify under the rotated list's derived keys.
	oldMAC := mustLoad(t, "", secretA).Derive("editor-session").Sign(msg)
	if !sess.Verify(msg, oldMAC) {
		t.Fatal("derived keys lose the rotation's older secrets")
	}
	if sess.Verify([]byte("session 43"), mac) {
		t.Fatal("a MAC verifies for another message")
	}
	bad := bytes.Clone(mac)
	bad[0] ^= 1
	for _, m := range [][]byte{bad, mac[:31], nil, {}} {
		if sess.Verify(msg, m) {
			t.Fatalf("a tampered MAC %x verifies", m)
		}
	}
	if len(mac) != 32 {
		t.Fatalf("MAC of %d bytes, want HMAC-SHA256's 32", len(mac))
	}
}
