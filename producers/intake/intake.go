// Package intake owns the public side of the conference log: anyone's
// submission, from the JSON API, the CLI or a file, validated and appended as
// a conference.submitted event in status pending. Nothing it appends is
// public until an editor approves it.
//
// Creation is create-once in the domain, not only through the stream's
// duplicate window: the conference id is derived from the Idempotency-Key,
// and the first event of an aggregate is appended only if its subject is
// empty. A retry with the same key, minutes or months later, answers the same
// conference and appends nothing.
//
// An iCalendar file (Content-Type: text/calendar, ics.go) is taken all or
// nothing: every VEVENT becomes a submission with the same rules, each
// created once under a key derived from the request's, or the answer lists
// every VEVENT that cannot be taken.
//
// It imports the domain package, ical (to read files), eventlog, httpapi
// and internal packages (the intake gate, clientaddr); never a projection.
package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/clientaddr"
)

// idNamespace derives conference ids from idempotency keys (UUIDv5).
var idNamespace = uuid.MustParse("6f1c2a0e-5b7d-4c1e-9a53-2d8e7f4b9c10")

// ActorPublic is the actor of submissions from people without an editor token.
const ActorPublic = "public"

// SponsorLinker links the sponsor names of a submission to resources of the
// directory. Intake works without one: names then stay text.
type SponsorLinker interface {
	LinkSponsors(sponsors []domain.Sponsor) []domain.Sponsor
}

// Intake validates submissions and appends them. Safe for concurrent use.
type Intake struct {
	log      *eventlog.Log
	logger   *slog.Logger
	metrics  *Metrics
	sponsors SponsorLinker
	gate     Admitter             // nil: nothing limited (admit.go)
	clients  *clientaddr.Resolver // who a request's client is
}

// New returns an Intake appending to log. metrics and sponsors may be nil.
func New(log *eventlog.Log, logger *slog.Logger, m *Metrics, sponsors SponsorLinker) *Intake {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Intake{log: log, logger: logger, metrics: m, sponsors: sponsors}
}

// Receipt answers an accepted submission.
type Receipt struct {
	ID        string        `json:"id"`
	Status    domain.Status `json:"status"`
	Version   uint64        `json:"version"`
	Duplicate bool          `json:"duplicate,omitempty"`
	Links     Links         `json:"links"`
}

// Links point to where the submission can be followed.
type Links struct {
	Self     string `json:"self"`
	Calendar string `json:"ics"`
}

func receipt(id string, st domain.Status, version uint64, dup bool) Receipt {
	return Receipt{ID: id, Status: st, Version: version, Duplicate: dup, Links: Links{
		Self: "/api/v1/conferences/" + id, Calendar: "/conferences/" + id + ".ics",
	}}
}

// ValidKey reports whether an Idempotency-Key is usable: 1 to 200 visible
// ASCII characters.
func ValidKey(k string) bool {
	if len(k) == 0 || len(k) > 200 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// ConferenceID is the id a submission with this idempotency key gets.
func ConferenceID(key string) string {
	return uuid.NewSHA1(idNamespace, []byte("conference-submission\x00"+key)).String()
}

// Submit validates one submission and appends it, if the intake gate
// admits it (a refusal is an *admission.Refusal). key is the client's
// Idempotency-Key ("" for none: the submission is then not retry-safe); o
// says how it arrived (api, form, cli), who sent it ("public" or the editor)
// and from which address.
func (in *Intake) Submit(ctx context.Context, input domain.SubmissionInput, key string, o Origin) (Receipt, error) {
	start := time.Now()
	r, err := in.submit(ctx, input, key, o)
	in.metrics.observe(o.Source, r, err, time.Since(start))
	return r, err
}

func (in *Intake) submit(ctx context.Context, input domain.SubmissionInput, key string, o Origin) (Receipt, error) {
	// The request is identified by what the client sent, before anything
	// that may differ on a retry (the date rules move with the clock, the
	// directory may link a sponsor it did not know yet).
	hash := requestHash(input)
	sub, err := domain.ValidateSubmission(input, time.Now())
	if err != nil {
		var ve *domain.ValidationError
		if key != "" && errors.As(err, &ve) {
			// A retry of a request accepted long ago may no longer pass
			// today's date rules; it is still the same submission.
			if r, ok := in.existing(ctx, ConferenceID(key), hash); ok {
				return r, nil
			}
		}
		return Receipt{}, err
	}
	if in.sponsors != nil {
		sub.Details.Sponsors = in.sponsors.LinkSponsors(sub.Details.Sponsors)
	}
	if key == "" {
		key = uuid.Must(uuid.NewV7()).String()
	}
	id := ConferenceID(key)
	size := storedSize(sub, id, hash, o.Source, o.Actor)
	grant, err := in.admit(ctx, o, []string{sub.Contact.Email}, []int64{size})
	if err != nil {
		return Receipt{}, err
	}
	r, err := in.create(ctx, sub, id, hash, o.Source, o.Actor)
	if err == nil && !r.Duplicate {
		grant.Settle(1, size)
	} else {
		grant.Settle(0, 0)
	}
	return r, err
}

// requestHash identifies a JSON submission as the client sent it.
func requestHash(in domain.SubmissionInput) string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(append([]byte("json\x00"), b...))
	return hex.EncodeToString(sum[:])
}

// existing answers a retried submission from the log: the conference its
// key names, if it was created by a request with this hash.
func (in *Intake) existing(ctx context.Context, id, hash string) (Receipt, bool) {
	c, _, err := eventlog.Fold[domain.Conference](ctx, in.log, id)
	if err != nil || c.RequestHash != hash {
		return Receipt{}, false
	}
	return receipt(id, c.Status, c.Version, true), true
}

// create appends the submission of conference id, create-once: hash is
// what a retry must match (the request's hash) to be answered as a
// duplicate instead of ErrIdempotencyMismatch.
func (in *Intake) create(ctx context.Context, sub domain.Submission, id, hash, source, actor string) (Receipt, error) {
	c, err := creation(sub, id, hash, source, actor)
	if err != nil {
		return Receipt{}, err
	}
	a, err := in.log.Append(ctx, c.Env, c.MsgID, 0)
	var ve *domain.VersionError
	switch {
	case err == nil && !a.Duplicate:
		return receipt(id, domain.StatusPending, a.Seq, false), nil
	case err == nil || errors.As(err, &ve):
		// The conference exists: the same request again, or a reused key.
		c, _, lerr := eventlog.Fold[domain.Conference](ctx, in.log, id)
		if errors.Is(lerr, domain.ErrNotFound) {
			// The log refused a second creation but cannot show the
			// first one yet: a server that is still recovering its
			// stream after a restart. That is not "no such conference":
			// the client retries with the same key and is answered.
			return Receipt{}, fmt.Errorf("intake: %s exists by its key but cannot be read back yet: %w", id, domain.ErrUnavailable)
		}
		if lerr != nil {
			return Receipt{}, fmt.Errorf("intake: load %s after a duplicate key: %w", id, lerr)
		}
		if c.RequestHash != hash {
			return Receipt{}, domain.ErrIdempotencyMismatch
		}
		return receipt(id, c.Status, c.Version, true), nil
	default:
		return Receipt{}, err
	}
}

// creation is the event that creates conference id from a submission.
func creation(sub domain.Submission, id, hash, source, actor string) (eventlog.Creation, error) {
	env, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), id, actor, time.Now(), domain.ConferenceSubmitted{
		Details: sub.Details, Contact: sub.Contact, Source: source, RequestHash: hash,
	})
	// The message id carries the content's hash: a retry of this request is
	// recognised as ours, a different request under the same key is not.
	return eventlog.Creation{Env: env, MsgID: "submit:" + id + ":" + hash[:16]}, err
}

// Routes are the public's submission route (JSON and .ics).
func (in *Intake) Routes() []httpapi.Route {
	return []httpapi.Route{{Pattern: "POST /api/v1/conferences", Handler: http.HandlerFunc(in.handleSubmit)}}
}

func (in *Intake) handleSubmit(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !ValidKey(key) {
		in.fail(w, r, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid Idempotency-Key",
			Detail: "use 1 to 200 visible ASCII characters", Fields: []domain.FieldError{{
				Field: "Idempotency-Key", Code: "invalid", Message: "must be 1 to 200 visible ASCII characters"}}})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "text/calendar" {
		in.handleICS(w, r, key) // ics.go
		return
	}
	var input domain.SubmissionInput
	if err := httpapi.Decode(w, r, httpapi.MaxBodyBytes, &input); err != nil {
		in.fail(w, r, err)
		return
	}
	source := "api"
	if s := r.Header.Get("X-Jevents-Source"); s == "cli" {
		source = s
	}
	rec, err := in.Submit(r.Context(), input, key, in.origin(r, source))
	if err != nil {
		httpapi.WriteError(w, r, in.logger, refused(err))
		return
	}
	w.Header().Set("Location", rec.Links.Self)
	httpapi.Write(w, http.StatusAccepted, rec)
}

// fail answers a request that never reached Submit, counting it as invalid.
func (in *Intake) fail(w http.ResponseWriter, r *http.Request, err error) {
	in.metrics.observe("api", Receipt{}, err, 0)
	httpapi.WriteError(w, r, in.logger, err)
}

// Metrics are the intake's Prometheus series.
type Metrics struct {
	submissions *prometheus.CounterVec
	rejects     *prometheus.CounterVec
	duration    *prometheus.HistogramVec
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "intake", Name: "submissions_total",
			Help: "Conference submissions, by source and outcome (accepted, duplicate, invalid, conflict, refused by the intake gate, error)."}, []string{"source", "outcome"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "intake", Name: "validation_rejects_total",
			Help: "Invalid fields in refused submissions, by field and reason."}, []string{"field", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "intake", Name: "submission_duration_seconds",
			Help:    "Time from a submission's arrival to its answer, including the append to the log.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"source"}),
	}
	if reg != nil {
		reg.MustRegister(m.submissions, m.rejects, m.duration)
	}
	return m
}

func (m *Metrics) observe(source string, r Receipt, err error, d time.Duration) {
	outcome := "accepted"
	var (
		ve *domain.ValidationError
		he *httpapi.Error
		ar *admission.Refusal
	)
	switch {
	case errors.As(err, &ar):
		outcome = "refused"
	case err == nil && r.Duplicate:
		outcome = "duplicate"
	case err == nil:
	case errors.As(err, &ve):
		outcome = "invalid"
		for _, f := range ve.Fields {
			m.rejects.WithLabelValues(fieldLabel(f.Field), f.Code).Inc()
		}
	case errors.As(err, &he) && he.Status < 500, errors.As(err, new(*http.MaxBytesError)):
		outcome = "invalid"
		m.rejects.WithLabelValues("(request)", "malformed").Inc()
	case errors.Is(err, domain.ErrIdempotencyMismatch):
		outcome = "conflict"
	default:
		outcome = "error"
	}
	m.submissions.WithLabelValues(source, outcome).Inc()
	if d > 0 {
		m.duration.WithLabelValues(source).Observe(d.Seconds())
	}
}

// fieldLabel drops list indexes, so the label set stays small: topics[3] → topics.
func fieldLabel(f string) string {
	if i := strings.IndexByte(f, '['); i >= 0 {
		return f[:i]
	}
	return f
}
