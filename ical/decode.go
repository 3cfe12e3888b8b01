package ical

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"
)

// Limits bound what Parse reads from an untrusted iCalendar object. A zero
// field takes its default.
type Limits struct {
	// MaxBytes bounds the whole object (default 1 MiB).
	MaxBytes int
	// MaxLineBytes bounds one content line after unfolding (default 64 KiB).
	MaxLineBytes int
	// MaxParamBytes bounds the name and parameters of one content line,
	// everything before the value (default 1 KiB): go-ical's Decoder reads
	// parameter values a byte at a time into a growing string, which is
	// quadratic in their length.
	MaxParamBytes int
	// MaxComponents bounds the number of components (default 2,000).
	MaxComponents int
	// MaxDepth bounds the nesting of components (default 4: VCALENDAR,
	// VTIMEZONE, STANDARD, and one more for VEVENT/VALARM-like pairs).
	MaxDepth int
	// MaxEvents bounds the number of VEVENTs (default 100).
	MaxEvents int
	// MaxEventBytes bounds the content lines of one VEVENT, its VALARMs
	// included (default 64 KiB).
	MaxEventBytes int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxBytes, 1<<20)
	def(&l.MaxLineBytes, 64<<10)
	def(&l.MaxParamBytes, 1<<10)
	def(&l.MaxComponents, 2000)
	def(&l.MaxDepth, 4)
	def(&l.MaxEvents, 100)
	def(&l.MaxEventBytes, 64<<10)
	return l
}

// SyntaxError reports where an object is not well-formed iCalendar.
type SyntaxError struct {
	Line int // 1-based physical line, 0 when the problem is the whole object
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "ical: " + e.Msg
	}
	return fmt.Sprintf("ical: line %d: %s", e.Line, e.Msg)
}

// LimitError reports an object that is larger than a Limit allows.
type LimitError struct {
	What  string // "object", "content line", "parameters", "components", "nesting", "VEVENTs", "VEVENT"
	Line  int    // 1-based physical line, 0 for the whole object
	Limit int
}

func (e *LimitError) Error() string {
	unit := "bytes"
	switch e.What {
	case "components", "VEVENTs":
		unit = e.What
	case "nesting":
		unit = "levels"
	}
	if e.Line == 0 {
		return fmt.Sprintf("ical: %s larger than %d %s", e.What, e.Limit, unit)
	}
	return fmt.Sprintf("ical: line %d: %s larger than %d %s", e.Line, e.What, e.Limit, unit)
}

// contentLine is one unfolded content line and where it starts.
type contentLine struct {
	text string
	line int
}

// Parse reads one iCalendar object (RFC 5545 §3.4) from b, as calendar
// programs write them, within lim:
//   - lines may end in CRLF or a bare LF (every client accepts both), and
//     the last one may have no line ending; a CR elsewhere is an error;
//   - folded lines (CRLF + SPACE or HTAB) are unfolded byte by byte, so a
//     fold inside a UTF-8 sequence is repaired (RFC 5545 §3.1);
//   - empty lines are skipped; a UTF-8 byte-order mark is skipped;
//   - the text must be valid UTF-8 without control characters other than
//     HTAB; every content line must match the grammar of §3.1 (name,
//     parameters with quoted or unquoted values, a colon);
//   - it must be exactly one VCALENDAR, with balanced BEGIN/END.
//
// Only then does go-ical's Decoder build the calendar: it panics on some
// malformed parameters and is quadratic in the length of a parameter
// value, which the checks above rule out (and a panic is recovered as an
// error anyway). Errors are *SyntaxError or *LimitError.
func Parse(b []byte, lim Limits) (*goical.Calendar, error) {
	lines, err := unfold(b, lim.withDefaults())
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l.text)
		buf.WriteString("\r\n")
	}
	return decodeGuarded(buf.Bytes())
}

// decodeGuarded runs go-ical's Decoder on checked input, turning a panic
// into an error.
func decodeGuarded(b []byte) (cal *goical.Calendar, err error) {
	defer func() {
		if r := recover(); r != nil {
			cal, err = nil, &SyntaxError{Msg: fmt.Sprintf("malformed calendar (decoder: %v)", r)}
		}
	}()
	dec := goical.NewDecoder(bytes.NewReader(b))
	cal, err = dec.Decode()
	if err != nil {
		return nil, &SyntaxError{Msg: strings.TrimPrefix(err.Error(), "ical: ")}
	}
	if _, err := dec.Decode(); !errors.Is(err, io.EOF) {
		return nil, &SyntaxError{Msg: "more than one top-level object: a file must hold exactly one VCALENDAR"}
	}
	return cal, nil
}

// unfold splits b into unfolded content lines and checks them: encoding,
// controls, sizes, grammar and component structure.
func unfold(b []byte, lim Limits) ([]contentLine, error) {
	if len(b) > lim.MaxBytes {
		return nil, &LimitError{What: "object", Limit: lim.MaxBytes}
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var (
		lines []contentLine
		cur   []byte
		start int
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		l := contentLine{text: string(cur), line: start}
		cur = nil
		if l.text == "" {
			return nil
		}
		if err := checkContentLine(l, lim); err != nil {
			return err
		}
		lines = append(lines, l)
		return nil
	}
	for n := 1; len(b) > 0; n++ {
		var phys []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			phys, b = b[:i], b[i+1:]
		} else {
			phys, b = b, nil
		}
		phys = bytes.TrimSuffix(phys, []byte("\r"))
		if bytes.IndexByte(phys, '\r') >= 0 {
			return nil, &SyntaxError{Line: n, Msg: "a CR that does not end the line"}
		}
		if len(phys) > 0 && (phys[0] == ' ' || phys[0] == '\t') {
			if cur == nil {
				return nil, &SyntaxError{Line: n, Msg: "a continuation line (starting with white space) with no line before it"}
			}
			if len(cur)+len(phys)-1 > lim.MaxLineBytes {
				return nil, &LimitError{What: "content line", Line: start, Limit: lim.MaxLineBytes}
			}
			cur = append(cur, phys[1:]...)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		if len(phys) > lim.MaxLineBytes {
			return nil, &LimitError{What: "content line", Line: n, Limit: lim.MaxLineBytes}
		}
		cur, start = append([]byte{}, phys...), n
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := checkStructure(lines, lim); err != nil {
		return nil, err
	}
	return lines, nil
}

// checkContentLine checks one unfolded line: UTF-8, no control characters
// but HTAB, and the grammar of RFC 5545 §3.1:
//
//	contentline = name *(";" param ) ":" value
//	param       = param-name "=" param-value *("," param-value)
//	param-value = paramtext / quoted-string
func checkContentLine(l contentLine, lim Limits) error {
	s := l.text
	fail := func(format string, args ...any) error {
		return &SyntaxError{Line: l.line, Msg: fmt.Sprintf(format, args...)}
	}
	if !utf8.ValidString(s) {
		return fail("not valid UTF-8 (iCalendar text is UTF-8, RFC 5545 §3.1.4)")
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return fail("control character %U", r)
		}
	}
	i := 0
	name := func() string {
		j := i
		// RFC 5545 names are letters, digits and "-"; "_" is tolerated
		// because some exporters write it in X- names.
		for i < len(s) && (isAlnum(s[i]) || s[i] == '-' || s[i] == '_') {
			i++
		}
		return s[j:i]
	}
	if name() == "" {
		return fail("a content line must start with a property name, got %q", clip(s))
	}
	params := 0
	for i < len(s) && s[i] == ';' {
		i++
		params++
		if name() == "" || i >= len(s) || s[i] != '=' {
			return fail("malformed parameter in %q", clip(s))
		}
		for {
			i++ // past '=' or ','
			if i < len(s) && s[i] == '"' {
				j := strings.IndexByte(s[i+1:], '"')
				if j < 0 {
					return fail("unterminated quoted parameter value in %q", clip(s))
				}
				i += j + 2
			} else {
				for i < len(s) && !strings.ContainsRune("\";:,", rune(s[i])) {
					i++
				}
			}
			if i > lim.MaxParamBytes {
				return &LimitError{What: "parameters", Line: l.line, Limit: lim.MaxParamBytes}
			}
			if i >= len(s) || s[i] != ',' {
				break
			}
		}
		if i >= len(s) || s[i] != ';' && s[i] != ':' {
			return fail("malformed parameter value in %q", clip(s))
		}
	}
	if i > lim.MaxParamBytes {
		return &LimitError{What: "parameters", Line: l.line, Limit: lim.MaxParamBytes}
	}
	if params > 64 {
		return fail("more than 64 parameters")
	}
	if i >= len(s) || s[i] != ':' {
		return fail("no colon after the property name and parameters in %q", clip(s))
	}
	return nil
}

// checkStructure checks that the lines form exactly one VCALENDAR with
// balanced, bounded components.
func checkStructure(lines []contentLine, lim Limits) error {
	if len(lines) == 0 {
		return &SyntaxError{Msg: "empty: no BEGIN:VCALENDAR"}
	}
	var (
		stack      []string
		components int
		events     int
		eventStart = -1
		eventBytes int
	)
	for i, l := range lines {
		name, value := l.text, ""
		if j := strings.IndexAny(l.text, ";:"); j >= 0 {
			name = l.text[:j]
			if k := strings.IndexByte(l.text, ':'); k >= 0 {
				value = l.text[k+1:]
			}
		}
		name = strings.ToUpper(name)
		if eventStart >= 0 {
			eventBytes += len(l.text) + 2
			if eventBytes > lim.MaxEventBytes {
				return &LimitError{What: "VEVENT", Line: lines[eventStart].line, Limit: lim.MaxEventBytes}
			}
		}
		switch {
		case i == 0 && (name != "BEGIN" || !strings.EqualFold(value, "VCALENDAR")):
			return &SyntaxError{Line: l.line, Msg: fmt.Sprintf("the object must start with BEGIN:VCALENDAR, got %q", clip(l.text))}
		case len(stack) == 0 && i > 0:
			return &SyntaxError{Line: l.line, Msg: "more than one top-level object: a file must hold exactly one VCALENDAR"}
		case name == "BEGIN":
			comp := strings.ToUpper(value)
			if comp == "" || strings.IndexFunc(comp, func(r rune) bool { return !(r < 0x80 && (isAlnum(byte(r)) || r == '-')) }) >= 0 {
				return &SyntaxError{Line: l.line, Msg: fmt.Sprintf("bad component name %q", clip(value))}
			}
			if len(stack) >= lim.MaxDepth {
				return &LimitError{What: "nesting", Line: l.line, Limit: lim.MaxDepth}
			}
			if components++; components > lim.MaxComponents {
				return &LimitError{What: "components", Line: l.line, Limit: lim.MaxComponents}
			}
			if comp == goical.CompCalendar && len(stack) > 0 {
				return &SyntaxError{Line: l.line, Msg: "VCALENDAR inside a component"}
			}
			if comp == goical.CompEvent {
				if events++; events > lim.MaxEvents {
					return &LimitError{What: "VEVENTs", Line: l.line, Limit: lim.MaxEvents}
				}
				if eventStart < 0 {
					eventStart, eventBytes = i, len(l.text)+2
				}
			}
			stack = append(stack, comp)
		case name == "END":
			if len(stack) == 0 || !strings.EqualFold(value, stack[len(stack)-1]) {
				want := "nothing"
				if len(stack) > 0 {
					want = "END:" + stack[len(stack)-1]
				}
				return &SyntaxError{Line: l.line, Msg: fmt.Sprintf("END:%s where %s was expected", clip(value), want)}
			}
			if stack[len(stack)-1] == goical.CompEvent {
				eventStart = -1
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return &SyntaxError{Line: lines[len(lines)-1].line, Msg: fmt.Sprintf("the file ends inside %s: END:%s is missing", stack[len(stack)-1], stack[len(stack)-1])}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 60 {
		return s
	}
	i := 60
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
