package auth_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/justiceevents/jevents/internal/auth"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestTokenStrength: weak tokens (repeated characters, runs, repeated
// patterns, small alphabets, too short) are refused with a message that
// says how to make one and never holds the token; generated and
// openssl-made tokens load.
func TestTokenStrength(t *testing.T) {
	for _, weak := range []string{
		strings.Repeat("a", 16), strings.Repeat("a", 64), strings.Repeat("ab", 40),
		"0123456789012345678901234567890123456789", // digits, and a repeated run
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnop",
		"correct-horse-battery", "9fK2xQ7mZr4Lp8", // short
		strings.Repeat("9fK2xQ7m", 8), // a short random part repeated
		"1111111111111111111111111111111111111111111111111111",
		"test-editor-token-0123456789",
	} {
		_, _, err := auth.LoadTokens(auth.TokenSource{Token: weak}, discard)
		if err == nil {
			t.Errorf("%q (%.0f bits) accepted", weak, auth.TokenBits(weak))
			continue
		}
		if !strings.Contains(err.Error(), "openssl rand -base64 32") || strings.Contains(err.Error(), weak) {
			t.Errorf("message for %q: %v", weak, err)
		}
	}
	for _, strong := range []string{
		"3q2+7w8bX0kLr1Vd9mZpYc4tHn6sJf5aQe2uGi8oWxE=",                     // openssl rand -base64 32
		"8f14e45fceea167a5a36dedd4bea2543a2c6f1b5e0d9c3b7a4f8e2d1c0b9a8f7", // openssl rand -hex 32
	} {
		if _, _, err := auth.LoadTokens(auth.TokenSource{Token: strong}, discard); err != nil {
			t.Errorf("%q refused: %v", strong, err)
		}
	}
	for range 200 {
		tok, err := auth.NewToken()
		if err != nil || auth.TokenBits(tok) < auth.MinTokenBits {
			t.Fatalf("generated token %.0f bits: %v", auth.TokenBits(tok), err)
		}
	}
	// A tokens file names the editor whose token is weak.
	path := filepath.Join(t.TempDir(), "tokens")
	_ = os.WriteFile(path, []byte("ada:3q2+7w8bX0kLr1Vd9mZpYc4tHn6sJf5aQe2uGi8oWxE=\nbob:bobbobbobbobbobbob\n"), 0o600)
	if _, _, err := auth.LoadTokens(auth.TokenSource{File: path}, discard); err == nil || !strings.Contains(err.Error(), `"bob"`) || strings.Contains(err.Error(), "bobbob") {
		t.Fatalf("tokens file with a weak token: %v", err)
	}
}
