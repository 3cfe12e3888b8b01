package ical

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "Annual Conference on Sentencing", "Annual Conference on Sentencing"},
		{"CRLF", "a\r\nb", "a\nb"},
		{"lone CR", "a\rb", "a\nb"},
		{"CR CR LF", "a\r\r\nb", "a\n\nb"},
		{"LF CR", "a\n\rb", "a\n\nb"},
		{"LF kept", "a\nb\n", "a\nb\n"},
		{"TAB kept", "a\tb", "a\tb"},
		{"C0 removed", "a\x00b\x01c\x07d\x08e\x0bf\x0cg\x1bh\x1fi", "abcdefghi"},
		{"DEL removed", "a\x7fb", "ab"},
		{"Unicode line breaks become LF", "a\u0085b\u2028c\u2029d", "a\nb\nc\nd"},
		{"other C1 kept", "a\u0080b\u009fc", "a\u0080b\u009fc"},
		{"invalid UTF-8", "a\xffb\xc3(c", "a\uFFFDb\uFFFD(c"},
		{"truncated rune", "abc\xe2\x82", "abc\uFFFD\uFFFD"},
		{"U+FFFD kept", "a\uFFFDb", "a\uFFFDb"},
		{"iCalendar syntax kept", `a;b,c\d\ne:f`, `a;b,c\d\ne:f`},
		{"HTML kept", "<script>alert(1)</script>", "<script>alert(1)</script>"},
		{"spaces kept", "  a  ", "  a  "},
		{"CJK and emoji kept", "刑事司法 ⚖️👩‍⚖️", "刑事司法 ⚖️👩‍⚖️"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NormalizeText(tt.in)
			if got != tt.want {
				t.Fatalf("NormalizeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := NormalizeText(got); again != got {
				t.Fatalf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

// TestTextEscaping pins the escaped form of TEXT values (RFC 5545 §3.3.11).
func TestTextEscaping(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"plain", []string{"Conference"}, "Conference"},
		{"backslash first", []string{`a\b`}, `a\\b`},
		{"semicolon and comma", []string{"a;b,c"}, `a\;b\,c`},
		{"newline", []string{"a\nb"}, `a\nb`},
		{"CRLF and CR", []string{"a\r\nb\rc"}, `a\nb\nc`},
		{"literal backslash-n typed by a user", []string{`a\nb`}, `a\\nb`},
		{"colon and quote need no escape", []string{`a:"b"`}, `a:"b"`},
		{"controls removed", []string{"a\x00\x1b\x7fb"}, "ab"},
		{"TAB kept", []string{"a\tb"}, "a\tb"},
		{"list", []string{"Law, Order", "Courts"}, `Law\, Order,Courts`},
		{"list with backslash and semicolon", []string{`a\`, "b;c"}, `a\\,b\;c`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := textProp("CATEGORIES", tt.in...)
			if p.Value != tt.want {
				t.Fatalf("value %q, want %q", p.Value, tt.want)
			}
			if len(p.Params) != 0 {
				t.Fatalf("unexpected parameters %v", p.Params)
			}
			got, err := p.TextList()
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.in {
				if want := NormalizeText(tt.in[i]); got[i] != want {
					t.Fatalf("read back %q, want %q", got[i], want)
				}
			}
		})
	}
}

func TestWebURI(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "https://example.org/c/1", want: "https://example.org/c/1"},
		{in: "http://example.org", want: "http://example.org"},
		{in: "HTTPS://Example.org/A?b=c&d=e#f", want: "HTTPS://Example.org/A?b=c&d=e#f"},
		{in: "https://example.org/a b?q=ü", want: "https://example.org/a%20b?q=%C3%BC"},
		{in: `https://example.org/"<>\^{|}` + "`", want: "https://example.org/%22%3C%3E%5C%5E%7B%7C%7D%60"},
		{in: "", wantErr: true},
		{in: "/relative/path", wantErr: true},
		{in: "example.org/page", wantErr: true},
		{in: "javascript:alert(1)", wantErr: true},
		{in: "data:text/html,<script>", wantErr: true},
		{in: "ftp://example.org/", wantErr: true},
		{in: "mailto:a@example.org", wantErr: true},
		{in: "https:opaque", wantErr: true},
		{in: "https:///nohost", wantErr: true},
		{in: "https://example.org/\r\nATTENDEE:mailto:x@evil.example", wantErr: true},
		{in: "https://example.org/\n", wantErr: true},
		{in: "https://example.org/\r", wantErr: true},
		{in: "https://example.org/\x00", wantErr: true},
		{in: "https://example.org/\t", wantErr: true},
		{in: "https://example.org/\x7f", wantErr: true},
		{in: "https://example.org/\u0085", wantErr: true},
		{in: "https://example.org/\u2028", wantErr: true},
		{in: "https://example.org/\xff", wantErr: true},
	}
	for _, tt := range tests {
		got, err := webURI("URL", tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("webURI(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCheckTZID(t *testing.T) {
	for _, ok := range []string{"America/New_York", "UTC", "Etc/GMT+5", "America/Port-au-Prince", "EST5EDT"} {
		if err := checkTZID(ok); err != nil {
			t.Errorf("checkTZID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Local", "a b", "a;b", "a:b", "a,b", `a"b`, "a\\b", "a\r\nb", "a\x00", "Zürich"} {
		if err := checkTZID(bad); err == nil {
			t.Errorf("checkTZID(%q): no error", bad)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      time.Duration
		want    string
		wantErr bool
	}{
		{in: 6 * time.Hour, want: "PT6H"},
		{in: 90 * time.Minute, want: "PT1H30M"},
		{in: 45 * time.Minute, want: "PT45M"},
		{in: 30 * time.Second, want: "PT30S"},
		{in: time.Hour + 5*time.Second, want: "PT1H0M5S"},
		{in: 48 * time.Hour, want: "PT48H"},
		{in: 0, wantErr: true},
		{in: -time.Hour, wantErr: true},
		{in: 1500 * time.Millisecond, wantErr: true},
	}
	for _, tt := range tests {
		got, err := duration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("duration(%v) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestUTCOffset(t *testing.T) {
	tests := []struct {
		in   int
		want string
	}{
		{0, "+0000"},
		{-5 * 3600, "-0500"},
		{5*3600 + 30*60, "+0530"},
		{5*3600 + 45*60, "+0545"},
		{-(3*3600 + 30*60), "-0330"},
		{-(4*3600 + 56*60 + 2), "-045602"},
		{14 * 3600, "+1400"},
	}
	for _, tt := range tests {
		if got := utcOffset(tt.in); got != tt.want {
			t.Errorf("utcOffset(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckLine(t *testing.T) {
	if err := checkLine("UID", "42@justice-events.example"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "a\rb", "a\nb", "a\tb", "a\x00", "a\x7f", "a\u0085", "a\u2028", "a\u2029", "a\xff", strings.Repeat("x", 10) + "\x1b"} {
		if err := checkLine("UID", bad); err == nil {
			t.Errorf("checkLine(%q): no error", bad)
		}
	}
}
