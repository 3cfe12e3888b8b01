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

// Entry is one prepared representation. It is immutable once built
// (see headers.of for what happens when a field is set afterwards).
type Entry struct {
	Body         []byte
	Gzip         []byte // nil when compression does not pay
	ETag         string // strong, quoted
	LastModified time.Time
	ContentType  string
	CacheControl string

	hdr *headers // the answer's header values, made once (prepare)
}

// headers are an entry's header values, made once per entry and shared by
// every answer from it: a 304 to a poller then costs map assignments and
// no formatting, concatenation or allocation of values. The slices are
// never changed in place (net/http copies them when it writes them; h.Set
// and h.Add replace or grow them into a new array), so sharing them is safe.
type headers struct {
	etag, gzETag              []string
	gzETagValue               string
	lastModified              []string // nil when the entry has no date
	cacheControl, contentType []string
	contentLength, gzipLength []string
	bodyLen, gzipLen          int
	lastModifiedAt            time.Time
}

// of reports whether h was made from e as it is now. An Entry is meant to
// be immutable once built, but its fields are exported and a caller may
// set one (a page's Cache-Control) after the constructor: then its values
// are made at each answer instead of being wrong. The comparisons are of
// strings that share their bytes when unchanged: a few instructions.
func (h *headers) of(e *Entry) bool {
	return h != nil && h.etag[0] == e.ETag && h.cacheControl[0] == e.CacheControl && h.contentType[0] == e.ContentType &&
		h.bodyLen == len(e.Body) && h.gzipLen == len(e.Gzip) && h.lastModifiedAt.Equal(e.LastModified)
}

// Shared header values of every entry.
var (
	varyAcceptEncoding = []string{"Accept-Encoding"}
	nosniff            = []string{"nosniff"}
	gzipEncoding       = []string{"gzip"}
)

// prepare makes e's header values. Entries built by the constructors have
// them; a literal Entry gets them made at each answer.
func (e *Entry) prepare() *headers {
	h := &headers{
		etag:           []string{e.ETag},
		cacheControl:   []string{e.CacheControl},
		contentType:    []string{e.ContentType},
		contentLength:  []string{strconv.Itoa(len(e.Body))},
		bodyLen:        len(e.Body),
		gzipLen:        len(e.Gzip),
		lastModifiedAt: e.LastModified,
	}
	if !e.LastModified.IsZero() {
		h.lastModified = []string{e.LastModified.UTC().Format(http.TimeFormat)}
	}
	if e.Gzip != nil {
		h.gzETagValue = e.gzipETag()
		h.gzETag = []string{h.gzETagValue}
		h.gzipLength = []string{strconv.Itoa(len(e.Gzip))}
	}
	return h
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
	e.hdr = e.prepare()
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
	out.hdr = out.prepare()
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
	// Header keys are written in canonical form and values come prepared
	// with the entry (headers): this runs for every poll of every feed.
	p := e.hdr
	if !p.of(e) {
		p = e.prepare()
	}
	h := w.Header()
	gz := p.gzETag != nil && acceptsGzip(r)
	if gz {
		h["Etag"] = p.gzETag
	} else {
		h["Etag"] = p.etag
	}
	if p.lastModified != nil {
		h["Last-Modified"] = p.lastModified
	}
	h["Cache-Control"] = p.cacheControl
	h["Vary"] = varyAcceptEncoding
	h["X-Content-Type-Options"] = nosniff
	if notModified(r, e, p) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	body := e.Body
	if gz {
		body = e.Gzip
		h["Content-Encoding"] = gzipEncoding
		h["Content-Length"] = p.gzipLength
	} else {
		h["Content-Length"] = p.contentLength
	}
	h["Content-Type"] = p.contentType
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return http.StatusOK
}

// notModified implements RFC 9110 §13.1.2 and §13.1.3: If-None-Match wins
// over If-Modified-Since. Either form's tag matches: both stand for the
// same content, and the answer carries the tag of the form the client gets.
// The list is walked in place (no split): pollers send one tag, and this
// runs for every poll.
func notModified(r *http.Request, e *Entry, p *headers) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		for _, line := range inm { // a client may send the field more than once (RFC 9110 §5.3)
			for rest := line; rest != ""; {
				var t string
				t, rest, _ = strings.Cut(rest, ",")
				t = strings.TrimSpace(t)
				t = strings.TrimPrefix(t, "W/")
				if t == "*" || t == e.ETag || (p.gzETag != nil && t == p.gzETagValue) {
					return true
				}
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

// acceptsGzip reports whether the client takes gzip (or anything, "*"),
// without a q=0 refusal; walked in place, as notModified's list.
func acceptsGzip(r *http.Request) bool {
	for rest := r.Header.Get("Accept-Encoding"); rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
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
