package ical

import (
	"errors"
	"io"
	"unicode/utf8"
)

// maxLine is the longest content line RFC 5545 §3.1 allows: 75 octets, not
// counting the CRLF.
const maxLine = 75

var (
	errBareLineBreak = errors.New("ical: CR or LF outside a CRLF line ending")
	errLeadingSpace  = errors.New("ical: content line starts with white space, which would continue the line before")
	errUnterminated  = errors.New("ical: last content line has no CRLF")
)

// foldWriter folds the content lines written through it, which go-ical's
// Encoder does not do (RFC 5545 §3.1): a line longer than 75 octets becomes
// a first line of at most 75 octets and continuation lines of one SPACE and
// at most 74 octets, each ending in CRLF. It folds only before the first
// byte of a UTF-8 sequence, never inside one.
//
// It buffers up to each CRLF, so any pattern of writes gives the same
// output. It refuses a CR or LF that is not part of a CRLF and a line that
// starts with SPACE or HTAB, so every line it writes is one content line
// and unfolding gives back exactly what was written to it. A foldWriter is
// not safe for concurrent use.
type foldWriter struct {
	w    io.Writer
	line []byte // the current content line, without its line ending
	out  []byte // the folded line, reused between lines
	err  error  // sticky: once a write failed, every later one does
}

func newFoldWriter(w io.Writer) *foldWriter { return &foldWriter{w: w} }

func (fw *foldWriter) Write(p []byte) (int, error) {
	if fw.err != nil {
		return 0, fw.err
	}
	for i, c := range p {
		pendingCR := len(fw.line) > 0 && fw.line[len(fw.line)-1] == '\r'
		switch {
		case c == '\n' && pendingCR:
			fw.line = fw.line[:len(fw.line)-1]
			if err := fw.writeLine(); err != nil {
				fw.err = err
				return i, err
			}
		case c == '\n' || pendingCR:
			fw.err = errBareLineBreak
			return i, fw.err
		default:
			fw.line = append(fw.line, c)
		}
	}
	return len(p), nil
}

// Close reports a last line left without its CRLF. It does not close the
// underlying writer.
func (fw *foldWriter) Close() error {
	if fw.err == nil && len(fw.line) > 0 {
		fw.err = errUnterminated
	}
	return fw.err
}

// writeLine writes fw.line folded, in one Write.
func (fw *foldWriter) writeLine() error {
	if len(fw.line) > 0 && (fw.line[0] == ' ' || fw.line[0] == '\t') {
		return errLeadingSpace
	}
	out, line, limit := fw.out[:0], fw.line, maxLine
	for len(line) > limit {
		// The longest prefix of whole runes (or single invalid bytes) that
		// fits: never splits a UTF-8 sequence, and is at least limit-3 long.
		n := 0
		for n < len(line) {
			_, size := utf8.DecodeRune(line[n:])
			if n+size > limit {
				break
			}
			n += size
		}
		out = append(out, line[:n]...)
		out = append(out, "\r\n "...)
		line = line[n:]
		limit = maxLine - 1 // the leading SPACE counts
	}
	out = append(out, line...)
	out = append(out, "\r\n"...)
	fw.out, fw.line = out, fw.line[:0]
	_, err := fw.w.Write(out)
	return err
}
