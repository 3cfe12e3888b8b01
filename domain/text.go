package domain

import (
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanText normalises untrusted text before it is validated and stored:
//   - invalid UTF-8 and U+FFFD (the mark of bytes already lost) are
//     dropped: they carry nothing, and calendar apps read U+FFFD as a
//     broken feed;
//   - CR LF, lone CR, NEL (U+0085), LINE and PARAGRAPH SEPARATOR become LF;
//   - the controls that separate words — vertical tab, form feed and the
//     information separators (U+001C–U+001F) — become a space;
//   - other C0 and C1 controls, DEL, the byte-order mark and the bidi
//     embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069)
//     are removed, so no text can reorder what surrounds it on a page;
//   - TAB is kept, and leading and trailing white space is trimmed.
//
// Everything else, HTML and iCalendar syntax included, is kept as typed: the
// encoders that write pages and feeds escape it.
func CleanText(s string) string {
	if s == "" {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\r':
			b.WriteByte('\n')
			if i < len(s) && s[i] == '\n' {
				i++
			}
		case r == '\n', r == '\t':
			b.WriteRune(r)
		case r == 0x0b, r == 0x0c, r >= 0x1c && r <= 0x1f:
			// vertical tab, form feed and the information separators
			// separate words: a space, not nothing ("Panel\von bail").
			b.WriteByte(' ')
		case r == 0x85, r == 0x2028, r == 0x2029:
			b.WriteByte('\n')
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			// control character: dropped
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
			// bidi override or BOM: dropped
		case r == utf8.RuneError:
			// invalid UTF-8 or U+FFFD: dropped
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// CleanLine is CleanText for one-line values (names, cities, identifiers
// people type): every run of line breaks and tabs becomes one space.
func CleanLine(s string) string {
	s = CleanText(s)
	if !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\n", " ", "\t", " ").Replace(s)), " ")
}

// checkLength adds a too_long error when s has more than max characters.
func checkLength(errs *ValidationError, field, s string, max int) {
	if n := utf8.RuneCountInString(s); n > max {
		errs.Add(field, "too_long", "must be at most %d characters (got %d)", max, n)
	}
}

// ParseWebURL validates a link people will click: absolute http or https
// with a host, no credentials, no white space or control characters, at
// most MaxURLLength bytes. It returns the URL in canonical form.
func ParseWebURL(raw string) (string, string) {
	if len(raw) > MaxURLLength {
		return "", "must be at most 2048 characters"
	}
	for _, r := range raw {
		if r <= 0x20 || r == 0x7f || r == '"' || r == '<' || r == '>' || r == '\\' ||
			unicode.IsSpace(r) || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", "must not contain spaces, quotes, angle brackets, or control, line-break or format characters"
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "is not a valid URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "must start with http:// or https://"
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", "must name a host"
	}
	if u.User != nil {
		return "", "must not contain a user name or password"
	}
	return u.String(), ""
}

// ParseEmail validates a bare e-mail address (no display name).
func ParseEmail(raw string) (string, string) {
	if len(raw) > 254 {
		return "", "must be at most 254 characters"
	}
	a, err := mail.ParseAddress(raw)
	if err != nil || a.Address != raw || a.Name != "" || strings.ContainsAny(raw, " \t\r\n<>\"") {
		return "", "is not a valid e-mail address"
	}
	at := strings.LastIndexByte(raw, '@')
	if at < 1 || !strings.Contains(raw[at+1:], ".") {
		return "", "is not a valid e-mail address"
	}
	return raw, ""
}
