package organisers

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/serversecret"
)

func keys(t *testing.T, secrets ...string) *serversecret.Keys {
	t.Helper()
	k, err := serversecret.Load("", secrets)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLinks: a link opens its conference until it expires; another
// conference's, a tampered one, one for an earlier contact and one signed
// with a secret no longer configured are invalid; after a rotation (the
// old secret on the second line) old links still open.
func TestLinks(t *testing.T) {
	oldSecret, newSecret := strings.Repeat("a", 32), strings.Repeat("b", 32)
	now := time.Now()
	l := NewLinks(keys(t, oldSecret), time.Hour)
	c := &domain.Conference{ID: "c1", Status: domain.StatusPending, Contact: domain.Contact{Email: "Pat@Example.org"}}
	other := &domain.Conference{ID: "c2", Status: domain.StatusPending, Contact: c.Contact}
	tok := l.Token(c.ID, domain.Contact{Email: "pat@example.org "}, now)
	if err := l.Check(tok, c, now); err != nil {
		t.Fatalf("own link: %v", err)
	}
	if ID(tok) != "c1" {
		t.Fatalf("ID %q", ID(tok))
	}
	swapped := "c2" + strings.TrimPrefix(tok, "c1")
	flipped := tok[:len(tok)-2] + map[bool]string{true: "A", false: "B"}[tok[len(tok)-2] != 'A'] + tok[len(tok)-1:]
	later := strings.Replace(tok, "."+strings.Split(tok, ".")[1]+".", "."+"zzzzzz"+".", 1)
	moved := &domain.Conference{ID: "c1", Status: domain.StatusPending, Contact: domain.Contact{Email: "new@example.org"}}
	for name, tc := range map[string]struct {
		tok  string
		c    *domain.Conference
		want error
	}{
		"another conference's": {tok, other, ErrLinkInvalid},
		"id swapped":           {swapped, other, ErrLinkInvalid},
		"MAC tampered":         {flipped, c, ErrLinkInvalid},
		"expiry moved":         {later, c, ErrLinkInvalid},
		"contact changed":      {tok, moved, ErrLinkInvalid},
		"garbled":              {"c1..x", c, ErrLinkInvalid},
		"empty":                {"", c, ErrLinkInvalid},
		"no conference":        {tok, &domain.Conference{}, ErrLinkInvalid},
		"expired":              {tok, c, ErrLinkExpired},
	} {
		at := now
		if name == "expired" {
			at = now.Add(time.Hour + time.Second)
		}
		if err := l.Check(tc.tok, tc.c, at); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	rotated := NewLinks(keys(t, newSecret, oldSecret), time.Hour)
	if err := rotated.Check(tok, c, now); err != nil {
		t.Fatalf("old link after rotation: %v", err)
	}
	if err := rotated.Check(rotated.Token("c1", c.Contact, now), c, now); err != nil {
		t.Fatalf("new link: %v", err)
	}
	if err := NewLinks(keys(t, newSecret), time.Hour).Check(tok, c, now); !errors.Is(err, ErrLinkInvalid) {
		t.Fatalf("old secret removed: %v", err)
	}
	// Another purpose's key never signs a link.
	if err := l.Check("c1."+strings.Split(tok, ".")[1]+"."+strings.Split(rotated.Token("c1", c.Contact, now), ".")[2], c, now); err == nil && oldSecret != newSecret {
		t.Fatal("a MAC of another secret was accepted")
	}
}
