package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/auth"
)

// Editor runs h with the name of the editor the gate let through
// (internal/auth: the composition root puts every route declared for
// editors behind auth.Gate.Require, in Handle). It does not authenticate:
// a request that reaches it without an identity means a route was
// registered outside the gate, and is answered 500 (and logged) rather
// than served: it fails closed, and the route table's test fails.
func Editor(log *slog.Logger, h func(w http.ResponseWriter, r *http.Request, editor string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := auth.From(r.Context())
		if !ok {
			WriteError(w, r, log, errors.New("httpapi: an editors' route was served without the gate"))
			return
		}
		h(w, r, id.Editor)
	})
}

// Refuse answers a request the gate refused on an API route: 401 with
// WWW-Authenticate, saying whether a token was missing or not accepted, or
// 429 with Retry-After for a client that used up its wrong tokens.
func Refuse(log *slog.Logger) auth.Refuse {
	return func(w http.ResponseWriter, r *http.Request, err error) { WriteError(w, r, log, err) }
}

// ParseIfMatch reads the version an edit is based on from If-Match: 12,
// "12" or W/"12". An absent header is 0 (no condition).
func ParseIfMatch(h string) (uint64, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v == 0 {
		return 0, &Error{Status: http.StatusBadRequest, Title: "Invalid If-Match",
			Fields: []domain.FieldError{{Field: "If-Match", Code: "invalid", Message: `must be the version to change, such as "12"`}}}
	}
	return v, nil
}

// WriteVersion sets the ETag of an answer about one aggregate: its version.
func WriteVersion(w http.ResponseWriter, version uint64) {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatUint(version, 10)))
}

// Command is what an editor's command on one aggregate carries besides
// its path: the version it is based on (If-Match, 0 for none), an optional
// JSON body {"reason": "…", "at": RFC 3339, "publish_at": RFC 3339} and
// the Idempotency-Key. At and PublishAt (zero when absent) plan the
// command for later (domain/schedule.go); which command takes which is
// the handler's to say.
type Command struct {
	IfMatch   uint64
	Reason    string
	Key       string
	At        time.Time
	PublishAt time.Time
}

// ReadCommand reads a Command from r, naming the header or field at fault.
func ReadCommand(w http.ResponseWriter, r *http.Request) (Command, error) {
	ifMatch, err := ParseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		return Command{}, err
	}
	var body struct {
		Reason    string `json:"reason"`
		At        string `json:"at"`
		PublishAt string `json:"publish_at"`
	}
	if r.ContentLength != 0 {
		if err := Decode(w, r, MaxBodyBytes, &body); err != nil {
			return Command{}, err
		}
	}
	c := Command{IfMatch: ifMatch, Reason: body.Reason, Key: r.Header.Get("Idempotency-Key")}
	var errs domain.ValidationError
	for _, f := range []struct {
		name string
		v    string
		dst  *time.Time
	}{{"at", body.At, &c.At}, {"publish_at", body.PublishAt, &c.PublishAt}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.v)
		if err != nil {
			errs.Add(f.name, "invalid", "must be an RFC 3339 instant such as 2030-03-01T09:00:00Z")
			continue
		}
		*f.dst = t
	}
	if err := errs.Err(); err != nil {
		return Command{}, &Error{Status: http.StatusUnprocessableEntity, Title: "Invalid command", Fields: errs.Fields}
	}
	return c, nil
}

// Patch is an editor's partial update: the version it is based on, the
// Idempotency-Key, and the body, a JSON object of the fields to change.
type Patch struct {
	IfMatch uint64
	Key     string
	Body    []byte
	// Fields are the body's top-level members, to refuse some by name.
	Fields map[string]json.RawMessage
}

// ReadPatch reads a Patch from r (application/json or
// application/merge-patch+json), naming the header or field at fault.
func ReadPatch(w http.ResponseWriter, r *http.Request) (Patch, error) {
	ifMatch, err := ParseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		return Patch{}, err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
			return Patch{}, &Error{Status: http.StatusUnsupportedMediaType, Title: "Unsupported media type",
				Detail: "send application/json or application/merge-patch+json"}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return Patch{}, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return Patch{}, &Error{Status: http.StatusBadRequest, Title: "Malformed JSON",
			Detail: "the body must be a JSON object of the fields to change"}
	}
	return Patch{IfMatch: ifMatch, Key: r.Header.Get("Idempotency-Key"), Body: body, Fields: fields}, nil
}
