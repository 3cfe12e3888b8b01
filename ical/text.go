package ical

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// NormalizeText is what every TEXT value goes through before go-ical's
// SetText: RFC 5545 §3.3.11 allows no control character in TEXT but HTAB,
// and a line break only as the escape \n. So:
//   - CR LF and a lone CR become LF (which SetText escapes as \n);
//   - the Unicode line breaks NEL (U+0085), LINE SEPARATOR (U+2028) and
//     PARAGRAPH SEPARATOR (U+2029) become LF too: they mean a new line, and
//     although TEXT allows them, some readers end lines there (node-ical
//     silently drops a content line holding U+2028 or U+2029);
//   - other C0 controls and DEL are removed, TAB is kept;
//   - invalid UTF-8 becomes U+FFFD.
//
// NormalizeText is idempotent, and a TEXT property read back from Encode's
// output equals NormalizeText of what was written.
func NormalizeText(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 && r != '\t' && r != '\n' || r == 0x7f ||
			r == 0x85 || r == 0x2028 || r == 0x2029 {
			clean = false
			break
		}
	}
	if clean {
		return s // the common case: no allocation
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
		case r == 0x85, r == 0x2028, r == 0x2029:
			b.WriteByte('\n')
		case r == '\t', r == '\n':
			b.WriteRune(r)
		case r < 0x20, r == 0x7f:
			// control character: removed
		default:
			b.WriteRune(r) // utf8.RuneError writes U+FFFD
		}
	}
	return b.String()
}

// checkLine validates a value that is written without TEXT escaping of line
// breaks: it must be valid UTF-8 and hold no control character (C0, DEL, C1)
// and no Unicode line break, since none of those can be escaped there
// (RFC 5545 §3.1, §3.3.11).
func checkLine(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 || r == 0x2028 || r == 0x2029 {
			return fmt.Errorf("%s %q contains a control character or line break", what, s)
		}
	}
	return nil
}

// checkTZID validates a time zone identifier, written both as the TZID
// parameter of DTSTART/DTEND (RFC 5545 §3.2.19) and as the TZID property of
// its VTIMEZONE (§3.8.3.1). IANA names use only letters, digits and "/_+-",
// so anything else (quotes, separators, controls) is refused rather than
// quoted or escaped, and so is Go's "Local", which names no zone at all.
func checkTZID(tzid string) error {
	if tzid == "" || tzid == "Local" {
		return fmt.Errorf("time zone %q is not an IANA zone name; load the zone with time.LoadLocation", tzid)
	}
	for _, r := range tzid {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("/_+-.", r)) {
			return fmt.Errorf("time zone name %q contains %q; IANA names use letters, digits and /_+-.", tzid, r)
		}
	}
	return nil
}

// webURI validates an http(s) link for a URI value (RFC 5545 §3.3.13):
// absolute, http or https, with a host, no control characters. Characters a
// URI may not contain literally (space, non-ASCII, `"<>\^{|}` and the
// backquote) are percent-encoded, so the value is always one clean token.
func webURI(what, raw string) (string, error) {
	if err := checkLine(what, raw); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", what, raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.Opaque != "" {
		return "", fmt.Errorf("%s %q is not an absolute http or https URL", what, raw)
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
