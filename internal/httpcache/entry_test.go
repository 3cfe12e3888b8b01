package httpcache

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// TestGzipFormHasItsOwnValidator: the gzip bytes are another
// representation, so they carry another strong ETag; a conditional request
// with either tag is answered 304 with the tag of the form asked for.
func TestGzipFormHasItsOwnValidator(t *testing.T) {
	e := NewEntry([]byte(strings.Repeat("BEGIN:VEVENT\r\n", 200)), "text/calendar; charset=utf-8", "public, max-age=60", time.Time{})
	if e.Gzip == nil {
		t.Fatal("no gzip form")
	}
	get := func(h map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/calendar.ics", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		Serve(w, r, e)
		return w
	}
	plain, zipped := get(nil), get(map[string]string{"Accept-Encoding": "gzip"})
	pt, zt := plain.Header().Get("ETag"), zipped.Header().Get("ETag")
	if pt == "" || zt == "" || pt == zt || zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("identity ETag %q, gzip ETag %q, encoding %q", pt, zt, zipped.Header().Get("Content-Encoding"))
	}
	for _, tc := range []struct {
		name string
		h    map[string]string
		want string
	}{
		{"identity tag, identity client", map[string]string{"If-None-Match": pt}, pt},
		{"gzip tag, gzip client", map[string]string{"If-None-Match": zt, "Accept-Encoding": "gzip"}, zt},
		{"identity tag, gzip client", map[string]string{"If-None-Match": pt, "Accept-Encoding": "gzip"}, zt},
	} {
		w := get(tc.h)
		if w.Code != http.StatusNotModified || w.Header().Get("ETag") != tc.want {
			t.Errorf("%s: %d with ETag %q, want 304 with %q", tc.name, w.Code, w.Header().Get("ETag"), tc.want)
		}
	}
}

// TestIfModifiedSince: a date at or after Last-Modified earns a 304, an
// earlier one the body; the ETag wins when both are sent.
func TestIfModifiedSince(t *testing.T) {
	lm := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	e := NewEntry([]byte("BEGIN:VCALENDAR\r\n"), "text/calendar; charset=utf-8", "no-cache", lm)
	for _, tc := range []struct {
		name string
		h    map[string]string
		want int
	}{
		{"same date", map[string]string{"If-Modified-Since": lm.Format(http.TimeFormat)}, http.StatusNotModified},
		{"later date", map[string]string{"If-Modified-Since": lm.Add(time.Minute).Format(http.TimeFormat)}, http.StatusNotModified},
		{"earlier date", map[string]string{"If-Modified-Since": lm.Add(-time.Second).Format(http.TimeFormat)}, http.StatusOK},
		{"old ETag wins over a good date", map[string]string{"If-None-Match": `"old"`, "If-Modified-Since": lm.Format(http.TimeFormat)}, http.StatusOK},
	} {
		r := httptest.NewRequest("GET", "/calendar.ics", nil)
		for k, v := range tc.h {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		Serve(w, r, e)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
	}
}

// TestServeSaysWhatItAnswered: the status Serve returns is the one the
// client got, so callers count answers without wrapping the writer.
func TestServeSaysWhatItAnswered(t *testing.T) {
	e := NewEntry([]byte("hello\n"), "text/plain", "public", time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC))
	for _, tc := range []struct {
		name, method, header, value string
		want                        int
	}{
		{"plain GET", http.MethodGet, "", "", http.StatusOK},
		{"HEAD", http.MethodHead, "", "", http.StatusOK},
		{"matching ETag", http.MethodGet, "If-None-Match", e.ETag, http.StatusNotModified},
		{"other ETag", http.MethodGet, "If-None-Match", `"other"`, http.StatusOK},
		{"not modified since", http.MethodGet, "If-Modified-Since", "Sat, 02 Jan 2027 03:04:05 GMT", http.StatusNotModified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/x", nil)
			if tc.header != "" {
				r.Header.Set(tc.header, tc.value)
			}
			w := httptest.NewRecorder()
			if got := Serve(w, r, e); got != tc.want || w.Code != tc.want {
				t.Fatalf("Serve returned %d, answered %d, want %d", got, w.Code, tc.want)
			}
		})
	}
}

// TestPreparedHeaders: the header values an entry prepares once are the
// ones each answer carries; a field set after the constructor is honoured;
// If-None-Match lists are read in every form (several tags, weak tags,
// the field sent twice, "*"); answering never changes the shared values.
func TestPreparedHeaders(t *testing.T) {
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	e := NewEntry([]byte(strings.Repeat("BEGIN:VEVENT\r\n", 200)), "text/calendar; charset=utf-8", "public, max-age=60", at)
	serve := func(e *Entry, h http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/calendar.ics", nil)
		r.Header = h
		w := httptest.NewRecorder()
		Serve(w, r, e)
		return w
	}
	w := serve(e, http.Header{})
	if w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=60" || w.Header().Get("Last-Modified") != "Sat, 02 Jan 2027 03:04:05 GMT" ||
		w.Header().Get("Content-Length") != strconv.Itoa(len(e.Body)) || w.Header().Get("ETag") != e.ETag {
		t.Fatalf("plain answer: %d %v", w.Code, w.Header())
	}
	// Changing a header of the answer must not reach the next answer.
	w.Header()["Etag"][0] = "changed"
	w.Header().Add("Vary", "Cookie")
	if w := serve(e, http.Header{}); w.Header().Get("ETag") != e.ETag || len(w.Header()["Vary"]) != 1 {
		t.Fatalf("shared values changed: %v", w.Header())
	}
	gz := serve(e, http.Header{"Accept-Encoding": {"br, gzip;q=0.5"}})
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Content-Length") != strconv.Itoa(len(e.Gzip)) {
		t.Fatalf("gzip answer: %v", gz.Header())
	}
	for _, inm := range [][]string{{e.ETag}, {`"a", ` + e.ETag}, {`"a"`, `W/` + e.ETag}, {"*"}, {`"b",` + gz.Header().Get("ETag")}} {
		if w := serve(e, http.Header{"If-None-Match": inm}); w.Code != http.StatusNotModified {
			t.Errorf("If-None-Match %q: %d, want 304", inm, w.Code)
		}
	}
	for _, inm := range [][]string{{`"a"`}, {`"a", "b"`}, {`,`}, {strings.TrimSuffix(e.ETag, `"`)}} {
		if w := serve(e, http.Header{"If-None-Match": inm}); w.Code != 200 {
			t.Errorf("If-None-Match %q: %d, want 200", inm, w.Code)
		}
	}
	// A field set after the constructor (web's pages did so) is what is sent.
	e2 := NewEntry([]byte("<p>page</p>"), "text/html; charset=utf-8", "public, max-age=60", time.Time{})
	e2.CacheControl = "no-store"
	if w := serve(e2, http.Header{}); w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Last-Modified") != "" {
		t.Fatalf("changed entry: %v", w.Header())
	}
}
