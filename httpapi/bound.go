package httpapi

import (
	"fmt"
	"unicode/utf8"

	"github.com/justiceevents/jevents/domain"
)

// Error bodies stay small whatever the request held: a problem document
// echoes at most a bounded part of the input (a field name, a value quoted
// in a message), so that a request cannot make the server answer many
// times its own size. Bound applies the limits; WriteError calls it, and
// so must any handler that writes a problem document itself.
const (
	maxEchoField    = 100
	maxEchoMessage  = 300
	maxEchoDetail   = 500
	maxEchoInstance = 200
	// MaxFieldErrors is how many field errors one answer lists; a last
	// entry says how many more there were.
	MaxFieldErrors = 20
)

// Bound clips what p echoes of the request.
func Bound(p Problem) Problem {
	p.Title = clip(p.Title, maxEchoMessage)
	p.Detail = clip(p.Detail, maxEchoDetail)
	p.Instance = clip(p.Instance, maxEchoInstance)
	p.Errors = BoundFields(p.Errors)
	return p
}

// BoundFields clips each field error and keeps at most MaxFieldErrors.
func BoundFields(fs []domain.FieldError) []domain.FieldError {
	if len(fs) == 0 {
		return fs
	}
	n := min(len(fs), MaxFieldErrors)
	out := make([]domain.FieldError, 0, n+1)
	for _, f := range fs[:n] {
		out = append(out, domain.FieldError{Field: clip(f.Field, maxEchoField), Code: clip(f.Code, 40), Message: clip(f.Message, maxEchoMessage)})
	}
	if more := len(fs) - n; more > 0 {
		out = append(out, domain.FieldError{Field: "(more)", Code: "truncated", Message: fmt.Sprintf("%d more problems not listed", more)})
	}
	return out
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
