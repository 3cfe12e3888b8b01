package httpcache

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"
)

// TestWithGzip: a plain entry with its gzip form added later is the entry
// NewEntry makes at once, and the plain one is left as it was.
func TestWithGzip(t *testing.T) {
	body := []byte(strings.Repeat("BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n", 100))
	at := time.Date(2027, 1, 2, 3, 4, 5, 6, time.UTC)
	whole := NewEntry(body, "text/calendar", "public", at)
	plain := NewPlainEntry(body, "text/calendar", "public", at)
	gz := plain.WithGzip()
	if plain.Gzip != nil || gz == plain || gz.ETag != whole.ETag || !bytes.Equal(gz.Gzip, whole.Gzip) || !gz.LastModified.Equal(whole.LastModified) {
		t.Fatalf("plain %+v\ngz %+v\nwhole %+v", plain, gz, whole)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, body) {
		t.Fatal("gzip form differs from the body")
	}
	if gz.WithGzip() != gz {
		t.Fatal("WithGzip of an entry with its gzip form made another")
	}
	if small := NewPlainEntry([]byte("tiny"), "text/plain", "", at); small.WithGzip() != small {
		t.Fatal("a small body got a gzip form")
	}
}
