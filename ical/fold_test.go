package ical

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fold runs in through a foldWriter, chunk bytes per Write (0: one Write).
func fold(in []byte, chunk int) ([]byte, error) {
	var out bytes.Buffer
	fw := newFoldWriter(&out)
	if chunk <= 0 {
		chunk = len(in) + 1
	}
	for len(in) > 0 {
		n := min(chunk, len(in))
		if _, err := fw.Write(in[:n]); err != nil {
			return out.Bytes(), err
		}
		in = in[n:]
	}
	return out.Bytes(), fw.Close()
}

func TestFoldWriter(t *testing.T) {
	a75 := strings.Repeat("a", 75)
	cjk := strings.Repeat("刑事司法", 20) // 240 octets
	tests := []struct {
		name string
		in   string // content lines, each ending in CRLF
		want string
	}{
		{"empty input", "", ""},
		{"empty line", "\r\n", "\r\n"},
		{"short", "SUMMARY:Hi\r\n", "SUMMARY:Hi\r\n"},
		{"74 octets", a75[:74] + "\r\n", a75[:74] + "\r\n"},
		{"exactly 75 octets", a75 + "\r\n", a75 + "\r\n"},
		{"76 octets", a75 + "b\r\n", a75 + "\r\n b\r\n"},
		{"continuation counts its space", a75 + strings.Repeat("b", 74) + "c\r\n",
			a75 + "\r\n " + strings.Repeat("b", 74) + "\r\n c\r\n"},
		{"two lines", a75 + "b\r\nX:y\r\n", a75 + "\r\n b\r\nX:y\r\n"},
		// A 2-byte rune (é) at octets 75–76 must move to the next line whole.
		{"2-byte rune across the boundary", a75[:74] + "é\r\n", a75[:74] + "\r\n é\r\n"},
		{"2-byte rune ending at 75", a75[:73] + "éb\r\n", a75[:73] + "é\r\n b\r\n"},
		// A 3-byte rune (€) starting at octet 74 or 75.
		{"3-byte rune from octet 74", a75[:73] + "€\r\n", a75[:73] + "\r\n €\r\n"},
		{"3-byte rune from octet 75", a75[:74] + "€\r\n", a75[:74] + "\r\n €\r\n"},
		{"3-byte rune ending at 75", a75[:72] + "€b\r\n", a75[:72] + "€\r\n b\r\n"},
		// A 4-byte rune (😀) starting at octets 72..75.
		{"4-byte rune from octet 73", a75[:72] + "😀\r\n", a75[:72] + "\r\n 😀\r\n"},
		{"4-byte rune from octet 75", a75[:74] + "😀\r\n", a75[:74] + "\r\n 😀\r\n"},
		{"4-byte rune ending at 75", a75[:71] + "😀b\r\n", a75[:71] + "😀\r\n b\r\n"},
		{"CJK title",
			"SUMMARY:" + cjk + "\r\n",
			// 8 + 22*3 = 74 octets, then 24 runes (72 octets + SPACE) twice, then the rest.
			"SUMMARY:" + cjk[:66] + "\r\n " + cjk[66:138] + "\r\n " + cjk[138:210] + "\r\n " + cjk[210:] + "\r\n"},
		{"emoji title",
			"SUMMARY:" + strings.Repeat("⚖️👩‍⚖️", 6) + "\r\n",
			foldByHand("SUMMARY:" + strings.Repeat("⚖️👩‍⚖️", 6))},
		{"invalid UTF-8 bytes fold one by one", a75[:74] + "\xff\xfe\r\n", a75[:74] + "\xff\r\n \xfe\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 2, 3, 7, 76} {
				got, err := fold([]byte(tt.in), chunk)
				if err != nil {
					t.Fatalf("chunk %d: %v", chunk, err)
				}
				if string(got) != tt.want {
					t.Fatalf("chunk %d:\n got %q\nwant %q", chunk, got, tt.want)
				}
				if utf8.ValidString(tt.in) {
					checkLines(t, got)
				}
			}
		})
	}
}

// foldByHand folds one line rune by rune, the obvious way, as a reference.
func foldByHand(line string) string {
	var b strings.Builder
	n, limit := 0, maxLine
	for _, r := range line {
		size := utf8.RuneLen(r)
		if n+size > limit {
			b.WriteString("\r\n ")
			n, limit = 0, maxLine-1
		}
		b.WriteRune(r)
		n += size
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestFoldWriterErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"bare LF", "A:b\nC:d\r\n", errBareLineBreak},
		{"bare CR", "A:b\rC:d\r\n", errBareLineBreak},
		{"CR CR LF", "A:b\r\r\n", errBareLineBreak},
		{"LF at start", "\n", errBareLineBreak},
		{"line starting with SPACE", "A:b\r\n C:d\r\n", errLeadingSpace},
		{"line starting with HTAB", "\tA:b\r\n", errLeadingSpace},
		{"blank line of one SPACE", "A:b\r\n \r\n", errLeadingSpace},
		{"unterminated", "A:b\r\nC:d", errUnterminated},
		{"trailing CR", "A:b\r", errUnterminated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 2} {
				if _, err := fold([]byte(tt.in), chunk); !errors.Is(err, tt.want) {
					t.Fatalf("chunk %d: got %v, want %v", chunk, err, tt.want)
				}
			}
		})
	}
}

// checkLines fails unless b is a sequence of physical lines that each end
// in CRLF, hold no other CR or LF, are at most 75 octets long and are valid
// UTF-8 on their own (so no fold split a UTF-8 sequence).
func checkLines(t testing.TB, b []byte) {
	t.Helper()
	if len(b) == 0 {
		return
	}
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatalf("output does not end in CRLF: %q", tail(b))
	}
	for i, line := range bytes.Split(b[:len(b)-2], []byte("\r\n")) {
		if len(line) > maxLine {
			t.Fatalf("line %d is %d octets long: %q", i+1, len(line), line)
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d holds a bare CR or LF: %q", i+1, line)
		}
		if !utf8.Valid(line) {
			t.Fatalf("line %d is not valid UTF-8: %q", i+1, line)
		}
	}
}

func tail(b []byte) []byte { return b[max(0, len(b)-80):] }

func FuzzFold(f *testing.F) {
	f.Add([]byte("SUMMARY:"+strings.Repeat("é", 80)+"\r\n"), uint8(0))
	f.Add([]byte(strings.Repeat("a", 74)+"😀\r\nB:c\r\n"), uint8(3))
	f.Add([]byte("A:b\nc\r\n"), uint8(1))
	f.Add([]byte(strings.Repeat("日本", 60)+"\r\n\r\n"), uint8(5))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		out, err := fold(in, int(chunk))
		// The input is well formed when every CR and LF is part of a CRLF,
		// it ends in one and no line starts with white space.
		wellFormed := len(in) == 0 || bytes.HasSuffix(in, []byte("\r\n")) &&
			bytes.Count(in, []byte("\r")) == bytes.Count(in, []byte("\r\n")) &&
			bytes.Count(in, []byte("\n")) == bytes.Count(in, []byte("\r\n")) &&
			in[0] != ' ' && in[0] != '\t' &&
			!bytes.Contains(in, []byte("\n ")) && !bytes.Contains(in, []byte("\n\t"))
		if !wellFormed {
			if err == nil {
				t.Fatalf("no error for %q", in)
			}
			return
		}
		if err != nil {
			t.Fatalf("error %v for %q", err, in)
		}
		// Unfolding gives the input back.
		if got := bytes.ReplaceAll(out, []byte("\r\n "), nil); !bytes.Equal(got, in) {
			t.Fatalf("unfolded output differs:\n got %q\nwant %q", got, in)
		}
		for _, line := range bytes.SplitAfter(in, []byte("\r\n")) {
			if len(line) == 0 {
				continue
			}
			line = line[:len(line)-2]
			want := foldBytes(line)
			if !bytes.HasPrefix(out, want) {
				t.Fatalf("line %q folded as\n%q\nwant\n%q", line, out[:min(len(out), len(want))], want)
			}
			out = out[len(want):]
			// Valid input must give valid lines: at most 75 octets, and no
			// fold inside a UTF-8 sequence.
			if utf8.Valid(line) {
				checkLines(t, want)
			}
		}
	})
}

// foldBytes is foldByHand for bytes: invalid bytes count as runes of one.
func foldBytes(line []byte) []byte {
	var b []byte
	n, limit := 0, maxLine
	for len(line) > 0 {
		_, size := utf8.DecodeRune(line)
		if n+size > limit {
			b = append(b, "\r\n "...)
			n, limit = 0, maxLine-1
		}
		b = append(b, line[:size]...)
		line, n = line[size:], n+size
	}
	return append(b, "\r\n"...)
}
