// Package httpcache owns how prepared representations are served: a body
// with its gzip form, a strong ETag and Last-Modified, answered with 304 to
// a matching If-None-Match or If-Modified-Since, with HEAD, Vary and
// Cache-Control. Feeds, directory views and pages build an Entry once per
// change of their model and serve it to every poller at the same cost.
package httpcache

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Entry is one prepared representation. It is immutable once built.
type Entry struct {
	Body         []byte
	Gzip         []byte // nil when compression does not pay
	ETag         string // strong, quoted
	LastModified time.Time
	ContentType  string
	CacheControl string

	lastModified string // LastModified in HTTP form, made once by NewPlainEntry
}

// NewEntry prepares body: its ETag is a hash of the bytes, so equal bytes
// always carry the same validator whichever server made them.
func NewEntry(body []byte, contentType, cacheControl string, lastModified time.Time) *Entry {
	return NewPlainEntry(body, contentType, cacheControl, lastModified).WithGzip()
}

// NewPlainEntry is NewEntry without the gzip form, for a large body that
// must be served before it is compressed: WithGzip adds the form later.
func NewPlainEntry(body []byte, contentType, cacheControl string, lastModified time.Time) *Entry {
	sum := sha256.Sum256(body)
	e := &Entry{
		Body:         body,
		ETag:         `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		LastModified: lastModified.UTC().Truncate(time.Second),
		ContentType:  contentType,
		CacheControl: cacheControl,
	}
	if !e.LastModified.IsZero() {
		e.lastModified = e.LastModified.Format(http.TimeFormat)
	}
	return e
}

// WithGzip returns e with its gzip form, a new Entry (e is not changed);
// e itself when compression does not pay or e has it already.
func (e *Entry) WithGzip() *Entry {
	if e.Gzip != nil || len(e.Body) < 1024 {
		return e
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = zw.Write(e.Body)
	_ = zw.Close()
	if b.Len() >= len(e.Body) {
		return e
	}
	out := *e
	out.Gzip = b.Bytes()
	return &out
}

// gzipETag is the validator of the gzip form. A strong ETag names one
// representation (RFC 9110 §8.8.3), and the compressed bytes are another:
// the same tag for both would let a cache hand gzip bytes to a client that
// did not ask for them.
func (e *Entry) gzipETag() string { return strings.TrimSuffix(e.ETag, `"`) + `-gz"` }

// Serve answers r from e: 304 when the client's validators match, the gzip
// form when the client accepts it, no body for HEAD. It returns the status
// it answered (200 or 304), for the caller's metrics.
func Serve(w http.ResponseWriter, r *http.Request, e *Entry) (status int) {
	// Header keys are written in canonical form, without h.Set's
	// canonicalization: this runs for every poll of every feed.
	h := w.Header()
	gz := e.Gzip != nil && acceptsGzip(r)
	if gz {
		h["Etag"] = []string{e.gzipETag()}
	} else {
		h["Etag"] = []string{e.ETag}
	}
	if !e.LastModified.IsZero() {
		lm := e.lastModified
		if lm == "" {
			lm = e.LastModified.Format(http.TimeFormat)
		}
		h["Last-Modified"] = []string{lm}
	}
	h["Cache-Control"] = []string{e.CacheControl}
	h["Vary"] = []string{"Accept-Encoding"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	if notModified(r, e) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	body := e.Body
	if gz {
		body = e.Gzip
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Type", e.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return http.StatusOK
}

// notModified implements RFC 9110 §13.1.2 and §13.1.3: If-None-Match wins
// over If-Modified-Since. Either form's tag matches: both stand for the
// same content, and the answer carries the tag of the form the client gets.
func notModified(r *http.Request, e *Entry) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimSpace(t)
			t = strings.TrimPrefix(t, "W/")
			if t == "*" || t == e.ETag || (e.Gzip != nil && t == e.gzipETag()) {
				return true
			}
		}
		return false
	}
	// A date has a one-second grain: a client that polled between two
	// changes in the same second and sends only If-Modified-Since misses
	// the second until the next change. Clients that send the ETag do not.
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !e.LastModified.IsZero() {
		if t, err := http.ParseTime(ims); err == nil && !e.LastModified.After(t) {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") || strings.TrimSpace(coding) == "*" {
			if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
				if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}
