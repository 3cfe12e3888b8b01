// Package httpapi owns how the JSON API of Justice Events speaks HTTP:
// decoding request bodies within limits, writing JSON answers, and the one
// function that maps errors to a status and an application/problem+json body
// (RFC 9457).
//
// Producers and the read APIs of projections use it. It imports the domain
// package for its sentinel errors and ValidationError, and internal/auth
// for the gate's identity and refusals (editor.go, route.go); nothing else
// of ours.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/auth"
)

// MaxBodyBytes bounds a JSON request body.
const MaxBodyBytes = 64 << 10

// Retry-After of 503 (the log cannot be reached: an election or a reconnect
// takes seconds) and of 507 (storage full: an operator must act).
const (
	RetryAfterUnavailable = "2"
	RetryAfterFull        = "60"
)

// Error is an HTTP-level error a handler returns as is: a status, a title
// and optionally the fields at fault.
type Error struct {
	Status int
	Title  string
	Detail string
	Fields []domain.FieldError
	// RetryAfter, when > 0, is sent as Retry-After (seconds): a limit that
	// lets the request in later.
	RetryAfter int
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Detail) }

// Problem is the application/problem+json body (RFC 9457) with the
// extension members this API uses.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Errors   []domain.FieldError `json:"errors,omitempty"`
	// CurrentVersion is set on a version conflict: the version to base a
	// retried edit on.
	CurrentVersion uint64 `json:"current_version,omitempty"`
}

// ProblemFor maps an error to its problem document. It is the only place
// where errors become statuses.
func ProblemFor(err error) Problem {
	var (
		he  *Error
		ve  *domain.ValidationError
		ver *domain.VersionError
		mbe *http.MaxBytesError
		te  *auth.ThrottledError
	)
	p := Problem{Type: "about:blank"}
	switch {
	case errors.As(err, &he):
		p.Status, p.Title, p.Detail, p.Errors = he.Status, he.Title, he.Detail, he.Fields
	case errors.As(err, &mbe):
		p.Status, p.Title = http.StatusRequestEntityTooLarge, "Request body too large"
		p.Detail = fmt.Sprintf("the body must be at most %d bytes", mbe.Limit)
	case errors.As(err, &ve):
		p.Status, p.Title, p.Errors = http.StatusUnprocessableEntity, "Invalid fields", ve.Fields
		p.Detail = fmt.Sprintf("%d field(s) need attention: %s", len(ve.Fields), fieldList(ve.Fields))
	case errors.As(err, &ver):
		p.Status, p.Title, p.Detail, p.CurrentVersion = http.StatusConflict, "Version conflict", err.Error(), ver.Current
	case errors.Is(err, domain.ErrConflict):
		p.Status, p.Title, p.Detail = http.StatusConflict, "Conflict", err.Error()
	case errors.Is(err, domain.ErrNotFound):
		p.Status, p.Title = http.StatusNotFound, "Not found"
	case errors.As(err, &te):
		p.Status, p.Title = http.StatusTooManyRequests, "Too many wrong editor tokens"
		p.Detail = "this address sent many wrong editor tokens; wait before trying again (the right token is always accepted)"
	case errors.Is(err, auth.ErrTokenNotAccepted):
		p.Status, p.Title, p.Detail = http.StatusUnauthorized, "Editor token not accepted", "the Authorization: Bearer token is not an editor's token; check it, or ask for one"
	case errors.Is(err, auth.ErrSessionEnded):
		p.Status, p.Title, p.Detail = http.StatusUnauthorized, "Session ended", "the editor's session has expired or ended; sign in again, or send Authorization: Bearer <editor token>"
	case errors.Is(err, auth.ErrNoCredentials), errors.Is(err, domain.ErrUnauthorized):
		p.Status, p.Title, p.Detail = http.StatusUnauthorized, "Editor token required", "send Authorization: Bearer <editor token>"
	case errors.Is(err, domain.ErrIdempotencyMismatch):
		p.Status, p.Title, p.Detail = http.StatusUnprocessableEntity, "Idempotency-Key reused", err.Error()
	case errors.Is(err, domain.ErrPreconditionRequired):
		p.Status, p.Title, p.Detail = http.StatusPreconditionRequired, "If-Match required", "send If-Match with the version the edit is based on"
	case errors.Is(err, domain.ErrLogFull):
		p.Status, p.Title = http.StatusInsufficientStorage, "Event log full"
		p.Detail = "Nothing was stored: the event log reached its byte budget. Retry later with the same Idempotency-Key; " +
			"it is then stored once. Operators: raise the budget (jevents setup --log-max-bytes, or --log-max-bytes of the all-in-one service)."
	case errors.Is(err, domain.ErrStorageFull):
		p.Status, p.Title = http.StatusInsufficientStorage, "Storage full"
		p.Detail = "Nothing was stored: the server's storage is full. Retry later with the same Idempotency-Key; " +
			"it is then stored once. Operators: free space on the data volume; the service resumes by itself."
	case errors.Is(err, domain.ErrUnavailable):
		p.Status, p.Title = http.StatusServiceUnavailable, "Temporarily unavailable"
		p.Detail = "The event log cannot be reached just now; nothing is known to be stored. " +
			"Retry after the Retry-After seconds with the same Idempotency-Key: a request that did land is answered, never stored twice."
	default:
		p.Status, p.Title = http.StatusInternalServerError, "Internal error"
	}
	return p
}

func fieldList(fs []domain.FieldError) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Field
	}
	return strings.Join(names, ", ")
}

// StatusClientClosedRequest is the status recorded (metrics, access logs)
// for a request whose client went away before its answer was ready: nginx's
// 499. Nobody reads the answer; it is neither a server error nor logged as
// one (docs/metrics.md).
const StatusClientClosedRequest = 499

// ClientGone reports whether err is the end of the request's own context:
// the client closed the connection (or the server is shutting it), so the
// work stopped for the client's sake, not for a fault of the server. A
// context.Canceled that does not come from the request stays a server
// error.
func ClientGone(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && r.Context().Err() != nil
}

// PrivatePrefix starts the paths that hold a credential (the organiser's
// private link: /organiser/{token}…).
const PrivatePrefix = "/organiser/"

// LogPath is a request's path as logs and error answers may show it: a
// path that holds a credential (a route whose pattern has a {token}
// wildcard, or anything under PrivatePrefix) shows as its pattern,
// "/organiser/{token}", never as the token. Metrics name routes by their
// pattern already.
func LogPath(r *http.Request) string {
	if strings.Contains(r.Pattern, "{token}") {
		if _, p, ok := strings.Cut(r.Pattern, " "); ok {
			return p
		}
		return r.Pattern
	}
	if strings.HasPrefix(r.URL.Path, PrivatePrefix) {
		return PrivatePrefix + "{token}"
	}
	return r.URL.Path
}

// AnswerClientGone records a request whose client went away (ClientGone)
// as 499, logged at debug level only.
func AnswerClientGone(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	log.DebugContext(r.Context(), "client went away before the answer", slog.String("method", r.Method),
		slog.String("path", LogPath(r)), slog.Any("err", err))
	w.WriteHeader(StatusClientClosedRequest)
}

// WriteError answers err as problem+json. Server errors (5xx) are logged;
// client errors are the client's to read. A client that went away gets 499
// and no log line above debug.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if ClientGone(r, err) {
		AnswerClientGone(w, r, log, err)
		return
	}
	p := ProblemFor(err)
	p.Instance = LogPath(r)
	p = Bound(p) // bound.go: a small answer whatever the request held
	if p.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", LogPath(r)), slog.Int("status", p.Status), slog.Any("err", err))
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="justice-events editors"`)
	}
	switch p.Status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", RetryAfterUnavailable)
	case http.StatusInsufficientStorage:
		w.Header().Set("Retry-After", RetryAfterFull)
	}
	if he := (*Error)(nil); errors.As(err, &he) && he.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(he.RetryAfter))
	}
	if te := (*auth.ThrottledError)(nil); errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int(te.Wait/time.Second)+1))
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // not HTML: \u003c for every < would multiply what is echoed
	_ = enc.Encode(p)
}

// Write answers v as JSON with status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Decode reads a JSON body of at most limit bytes into dst, refusing unknown
// fields and trailing data. Errors are *Error naming the field when the JSON
// decoder can tell it, or *http.MaxBytesError.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &Error{Status: http.StatusUnsupportedMediaType, Title: "Unsupported media type",
				Detail: "send application/json"}
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return mbe
		}
		return &Error{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: "the body could not be read"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(b, dst, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: "the body must hold exactly one JSON object"}
	}
	return nil
}

// DecodeBytes is Decode for a body already read.
func DecodeBytes(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(b, dst, err)
	}
	return nil
}

// bodyError is jsonError, naming every value of the wrong type when there
// is one: the JSON decoder stops at the first, and a client fixing its
// body one field per round trip deserves the whole list.
func bodyError(b []byte, dst any, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return jsonError(err)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return jsonError(err)
	}
	var fields []domain.FieldError
	typeErrors(v, reflect.TypeOf(dst), "", &fields)
	if len(fields) == 0 {
		return jsonError(err)
	}
	return &Error{Status: http.StatusBadRequest, Title: "Wrong JSON type",
		Detail: fmt.Sprintf("%d values have the wrong JSON type", len(fields)), Fields: fields}
}

// typeErrors adds an error for each value of v that cannot be decoded
// into t, by its path ("location.city", "sponsors[2]"); keys t does not
// have are left to the unknown-field check.
func typeErrors(v any, t reflect.Type, path string, out *[]domain.FieldError) {
	if len(*out) >= 50 {
		return
	}
	for t.Kind() == reflect.Pointer {
		if v == nil {
			return
		}
		t = t.Elem()
	}
	if v == nil || t.Kind() == reflect.Interface {
		return
	}
	bad := func() {
		name := path
		if name == "" {
			name = "(body)"
		}
		*out = append(*out, domain.FieldError{Field: name, Code: "invalid", Message: "must be a " + jsonKind(t.Kind().String())})
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			bad()
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16,
		reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			bad()
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			bad()
			return
		}
		for i, x := range list {
			typeErrors(x, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			bad()
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			typeErrors(m[k], t.Elem(), join(path, k), out)
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			bad()
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			for k, x := range m { // as encoding/json, a key matches in any case
				if strings.EqualFold(k, name) {
					typeErrors(x, f.Type, join(path, name), out)
					break
				}
			}
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func jsonError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return mbe
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &Error{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return &Error{Status: http.StatusBadRequest, Title: "Wrong JSON type", Detail: err.Error(),
			Fields: []domain.FieldError{{Field: field, Code: "invalid", Message: "must be a " + jsonKind(te.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Status: http.StatusBadRequest, Title: "Unknown field", Detail: err.Error(),
			Fields: []domain.FieldError{{Field: field, Code: "unknown", Message: "is not a field of this request"}}}
	}
	return &Error{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean (true or false)"
	case "slice", "array":
		return "list"
	case "struct", "map", "ptr":
		return "object"
	default:
		return k
	}
}
