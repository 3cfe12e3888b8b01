// Package resources owns the editors' side of the resource directory:
// adding, editing, retiring and restoring resources (agencies, offices,
// initiatives, task forces …), each decided on the resource's state as the
// log holds it and appended only if no other change came first (optimistic
// concurrency on the aggregate's subject), and the seed: the published
// directory page kept in seeddata/, parsed and appended idempotently.
//
// Every route requires an editor; the auth middleware in front of it says
// who the editor is. It imports the domain package, eventlog, httpapi
// and internal packages; never a projection. Reading the directory is the directory projection's
// job (projections/directory).
package resources

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
)

// ActorSeed is the actor of the events the seed appends.
const ActorSeed = "seed"

// idNamespace derives event ids from idempotency keys (UUIDv5), so a
// retried command can find its own event in the resource's history.
var idNamespace = uuid.MustParse("0b8f3c52-7a4e-4d1b-9e67-5c2f81a4d9e3")

// Producer decides on directory resources. Safe for concurrent use.
type Producer struct {
	log     *eventlog.Log
	logger  *slog.Logger
	metrics *Metrics
}

// New returns a Producer appending to log; metrics may be nil.
func New(log *eventlog.Log, logger *slog.Logger, m *Metrics) *Producer {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Producer{log: log, logger: logger, metrics: m}
}

// Result answers a command.
type Result struct {
	ID      string `json:"id"`
	Status  string `json:"status"` // active or retired
	Version uint64 `json:"version"`
	// Changed lists the fields an edit changed; empty when nothing changed
	// and nothing was appended.
	Changed []string `json:"changed,omitempty"`
	// Duplicate is set when the request repeated one already carried out:
	// nothing was appended.
	Duplicate bool  `json:"duplicate,omitempty"`
	Links     Links `json:"links"`
}

// Links point to the resource's representations.
type Links struct {
	Self        string `json:"self"`
	Page        string `json:"page"`
	History     string `json:"history"`
	SponsorFeed string `json:"sponsor_feed"`
}

func result(r *domain.Resource, dup bool) Result {
	st := "active"
	if r.Retired {
		st = "retired"
	}
	return Result{ID: r.ID, Status: st, Version: r.Version, Duplicate: dup, Links: Links{
		Self:        "/api/v1/resources/" + r.ID,
		Page:        "/resources/" + r.ID,
		History:     "/api/v1/resources/" + r.ID + "/history",
		SponsorFeed: "/calendar/sponsors/" + r.ID + ".ics",
	}}
}

// Load folds a resource's events into its state.
func (p *Producer) Load(ctx context.Context, id string) (*domain.Resource, []domain.Record, error) {
	return eventlog.Fold[domain.Resource](ctx, p.log, id)
}

// Add validates a new resource and appends it, create-once: its id is
// in.ID or derived from the short name or the name. Adding the same content
// again answers the existing resource (Duplicate) and appends nothing;
// different content under a taken id is a conflict. source is api, cli or
// seed; actor the editor.
func (p *Producer) Add(ctx context.Context, in domain.ResourceInput, source, actor string) (Result, error) {
	res, err := p.add(ctx, in, source, actor)
	p.metrics.observe("add", res, err)
	return res, err
}

func (p *Producer) add(ctx context.Context, in domain.ResourceInput, source, actor string) (Result, error) {
	d, err := domain.ValidateResource(in)
	id := strings.TrimSpace(in.ID)
	var errs domain.ValidationError
	if ve := (*domain.ValidationError)(nil); errors.As(err, &ve) {
		errs.Fields = append(errs.Fields, ve.Fields...)
	} else if err != nil {
		return Result{}, err
	}
	if id != "" {
		if ierr := domain.ValidateResourceID(id); ierr != nil {
			errs.Fields = append(errs.Fields, ierr.(*domain.ValidationError).Fields...)
		}
	} else if d.Name != "" {
		if id = domain.ResourceSlug(cmp.Or(d.ShortName, d.Name)); id == "" {
			errs.Add("id", "required", "cannot be derived from the name or short name: give one, such as ovc")
		}
	}
	if err := errs.Err(); err != nil {
		return Result{}, err
	}
	return p.create(ctx, id, d, source, actor, "")
}

// create appends resource.added for id unless the resource exists. It
// looks first, so that a repeated request is told apart from a new one (the
// log answers both with the first event's sequence), and appends
// create-once, so that of two concurrent creations only one lands.
func (p *Producer) create(ctx context.Context, id string, d domain.ResourceDetails, source, actor, eventID string) (Result, error) {
	hash := d.Hash()
	existing := func() (Result, error) {
		r, _, err := p.Load(ctx, id)
		if err != nil {
			return Result{}, fmt.Errorf("resources: load %s: %w", id, err)
		}
		if r.RequestHash == hash {
			return result(r, true), nil
		}
		return Result{}, &TakenError{ID: id}
	}
	if _, _, err := p.Load(ctx, id); err == nil {
		return existing()
	} else if !errors.Is(err, domain.ErrNotFound) {
		return Result{}, err
	}
	if eventID == "" {
		eventID = uuid.Must(uuid.NewV7()).String()
	}
	env, err := domain.NewEnvelope(eventID, id, actor, time.Now(), domain.ResourceAdded{Details: d, Source: source, RequestHash: hash})
	if err != nil {
		return Result{}, err
	}
	a, err := p.log.Append(ctx, env, "add:"+id+":"+hash[:16], 0)
	var ve *domain.VersionError
	switch {
	case err == nil && !a.Duplicate:
		r := &domain.Resource{}
		r.Apply(domain.Record{Seq: a.Seq, Envelope: env, Event: domain.ResourceAdded{Details: d, RequestHash: hash}})
		return result(r, false), nil
	case err == nil || errors.As(err, &ve):
		return existing()
	default:
		return Result{}, err
	}
}

// TakenError: a resource with another content already has the id. It
// matches domain.ErrConflict.
type TakenError struct{ ID string }

func (e *TakenError) Error() string {
	return fmt.Sprintf("the id %q is taken by another resource: choose another id, or edit that one", e.ID)
}

// Is makes a TakenError match domain.ErrConflict.
func (e *TakenError) Is(target error) bool { return target == domain.ErrConflict }

// Edit applies a partial update: fields present in patch (a JSON object
// with the input's field names) replace the current ones, absent fields
// stay. The result is validated like a new resource. ifMatch, the version
// the editor saw, is required: if the resource changed since, the edit is
// refused with a *domain.VersionError and nothing is appended.
func (p *Producer) Edit(ctx context.Context, id string, patch []byte, ifMatch uint64, actor, key string) (Result, error) {
	if ifMatch == 0 {
		p.metrics.observe("edit", Result{}, domain.ErrPreconditionRequired)
		return Result{}, domain.ErrPreconditionRequired
	}
	res, err := p.command(ctx, "edit", id, ifMatch, actor, key, func(r *domain.Resource) (domain.Event, error) {
		in := r.Details.Input()
		if err := httpapi.DecodeBytes(patch, &in); err != nil {
			return nil, err
		}
		if in.ID != "" && in.ID != id {
			var errs domain.ValidationError
			errs.Add("id", "invalid", "cannot be changed: ids stay in links and feeds")
			return nil, &errs
		}
		d, err := domain.ValidateResource(in)
		if err != nil {
			return nil, err
		}
		return r.Update(d)
	})
	p.metrics.observe("edit", res, err)
	return res, err
}

// Retire takes a resource out of the directory's views. ifMatch, when not
// 0, is the version the editor saw.
func (p *Producer) Retire(ctx context.Context, id, reason string, ifMatch uint64, actor, key string) (Result, error) {
	res, err := p.command(ctx, "retire", id, ifMatch, actor, key, func(r *domain.Resource) (domain.Event, error) {
		return r.Retire(reason)
	})
	p.metrics.observe("retire", res, err)
	return res, err
}

// Restore brings a retired resource back. ifMatch, when not 0, is the
// version the editor saw.
func (p *Producer) Restore(ctx context.Context, id, reason string, ifMatch uint64, actor, key string) (Result, error) {
	res, err := p.command(ctx, "restore", id, ifMatch, actor, key, func(r *domain.Resource) (domain.Event, error) {
		return r.Restore(reason)
	})
	p.metrics.observe("restore", res, err)
	return res, err
}

// maxAttempts bounds how often a command without If-Match is re-decided
// when another change lands between loading and appending.
const maxAttempts = 3

// commandTypes names the event each command appends, to recognise a retry.
var commandTypes = map[string]string{
	"edit": domain.TypeResourceUpdated, "retire": domain.TypeResourceRetired, "restore": domain.TypeResourceRestored,
}

// command loads the resource, decides, and appends the event expecting the
// version it decided on. With an Idempotency-Key the event's id derives
// from it, so a retry finds the event it already appended and answers the
// same result without deciding again.
func (p *Producer) command(ctx context.Context, name, id string, ifMatch uint64, actor, key string,
	decide func(*domain.Resource) (domain.Event, error)) (Result, error) {
	eventID := ""
	if key != "" {
		eventID = uuid.NewSHA1(idNamespace, []byte("resource\x00"+id+"\x00"+key)).String()
	}
	for attempt := 1; ; attempt++ {
		r, recs, err := p.Load(ctx, id)
		if err != nil {
			return Result{}, err
		}
		if eventID != "" {
			if res, ok, err := replay(recs, eventID, commandTypes[name]); ok || err != nil {
				return res, err
			}
		}
		if ifMatch != 0 && ifMatch != r.Version {
			return Result{}, &domain.VersionError{Expected: ifMatch, Current: r.Version}
		}
		ev, err := decide(r)
		if err != nil {
			return Result{}, err
		}
		if ev == nil { // an edit that changes nothing
			return result(r, false), nil
		}
		evID := eventID
		if evID == "" {
			evID = uuid.Must(uuid.NewV7()).String()
		}
		env, err := domain.NewEnvelope(evID, id, actor, time.Now(), ev)
		if err != nil {
			return Result{}, err
		}
		a, err := p.log.Append(ctx, env, "resource:"+id+":"+evID, r.Version)
		var ve *domain.VersionError
		if errors.As(err, &ve) && ifMatch == 0 && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		r.Apply(domain.Record{Seq: a.Seq, Envelope: env, Event: ev})
		res := result(r, false)
		if u, ok := ev.(domain.ResourceUpdated); ok {
			res.Changed = u.Changed
		}
		return res, nil
	}
}

// replay finds the event a retried command appended before and answers the
// result it had then.
func replay(recs []domain.Record, eventID, typ string) (Result, bool, error) {
	r := &domain.Resource{}
	for _, rec := range recs {
		r.Apply(rec)
		if rec.ID != eventID {
			continue
		}
		if rec.Type != typ {
			return Result{}, true, domain.ErrIdempotencyMismatch
		}
		res := result(r, true)
		if u, ok := rec.Event.(domain.ResourceUpdated); ok {
			res.Changed = u.Changed
		}
		return res, true, nil
	}
	return Result{}, false, nil
}

// SeedResult says what a seed did: the ids it added and the ids that were
// there already (seeded before, or added by an editor), in page order.
type SeedResult struct {
	Added    []string `json:"added"`
	Existing []string `json:"existing"`
}

// Seed appends the page's entries as resource.added events, each
// create-once under its derived id: running it again adds nothing, and it
// never changes or restores a resource an editor edited or retired since.
func (p *Producer) Seed(ctx context.Context, page *SeedPage) (SeedResult, error) {
	out := SeedResult{Added: []string{}, Existing: []string{}}
	for _, e := range page.Entries() {
		eventID := uuid.NewSHA1(idNamespace, []byte("seed\x00"+e.ID)).String()
		res, err := p.create(ctx, e.ID, e.Details, "seed", ActorSeed, eventID)
		var taken *TakenError
		switch {
		case errors.As(err, &taken):
			out.Existing = append(out.Existing, e.ID)
		case err != nil:
			p.metrics.observe("seed", res, err)
			return out, fmt.Errorf("resources: seed %s: %w", e.ID, err)
		case res.Duplicate:
			out.Existing = append(out.Existing, e.ID)
		default:
			out.Added = append(out.Added, e.ID)
		}
		p.metrics.observe("seed", res, err)
	}
	return out, nil
}

// Routes are the editors' directory commands, every one for editors only.
func (p *Producer) Routes() []httpapi.Route {
	editors := func(pattern string, h func(http.ResponseWriter, *http.Request, string)) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Handler: httpapi.Editor(p.logger, h), Editors: true}
	}
	return []httpapi.Route{
		editors("POST /api/v1/resources", p.handleAdd),
		editors("PATCH /api/v1/resources/{id}", p.handleEdit),
		editors("POST /api/v1/resources/{id}/retire", p.handleState("retire")),
		editors("POST /api/v1/resources/{id}/restore", p.handleState("restore")),
	}
}

func (p *Producer) handleAdd(w http.ResponseWriter, r *http.Request, editor string) {
	var in domain.ResourceInput
	if err := httpapi.Decode(w, r, httpapi.MaxBodyBytes, &in); err != nil {
		p.metrics.observe("add", Result{}, err)
		httpapi.WriteError(w, r, p.logger, err)
		return
	}
	source := "api"
	if r.Header.Get("X-Jevents-Source") == "cli" {
		source = "cli"
	}
	res, err := p.Add(r.Context(), in, source, editor)
	if err != nil {
		httpapi.WriteError(w, r, p.logger, err)
		return
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	w.Header().Set("Location", res.Links.Self)
	p.answer(w, status, res)
}

func (p *Producer) handleEdit(w http.ResponseWriter, r *http.Request, editor string) {
	patch, err := httpapi.ReadPatch(w, r)
	if err != nil {
		httpapi.WriteError(w, r, p.logger, err)
		return
	}
	res, err := p.Edit(r.Context(), r.PathValue("id"), patch.Body, patch.IfMatch, editor, patch.Key)
	if err != nil {
		httpapi.WriteError(w, r, p.logger, err)
		return
	}
	p.answer(w, http.StatusOK, res)
}

func (p *Producer) handleState(cmd string) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, editor string) {
		c, err := httpapi.ReadCommand(w, r)
		if err != nil {
			httpapi.WriteError(w, r, p.logger, err)
			return
		}
		var res Result
		if cmd == "retire" {
			res, err = p.Retire(r.Context(), r.PathValue("id"), c.Reason, c.IfMatch, editor, c.Key)
		} else {
			res, err = p.Restore(r.Context(), r.PathValue("id"), c.Reason, c.IfMatch, editor, c.Key)
		}
		if err != nil {
			httpapi.WriteError(w, r, p.logger, err)
			return
		}
		p.answer(w, http.StatusOK, res)
	}
}

func (p *Producer) answer(w http.ResponseWriter, status int, res Result) {
	httpapi.WriteVersion(w, res.Version)
	w.Header().Set("Cache-Control", "no-store")
	httpapi.Write(w, status, res)
}

// Metrics are the resource producer's Prometheus series.
type Metrics struct {
	commands *prometheus.CounterVec
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "resources", Name: "commands_total",
			Help: "Directory commands (add, edit, retire, restore, seed), by outcome (appended, unchanged, duplicate, invalid, conflict, not_found, error)."},
			[]string{"command", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.commands)
	}
	return m
}

func (m *Metrics) observe(cmd string, r Result, err error) {
	outcome := "appended"
	var (
		ve *domain.ValidationError
		he *httpapi.Error
	)
	switch {
	case err == nil && r.Duplicate:
		outcome = "duplicate"
	case err == nil && cmd == "edit" && len(r.Changed) == 0:
		outcome = "unchanged"
	case err == nil:
	case errors.As(err, &ve), errors.As(err, &he) && he.Status < 500, errors.As(err, new(*http.MaxBytesError)),
		errors.Is(err, domain.ErrPreconditionRequired):
		outcome = "invalid"
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrIdempotencyMismatch):
		outcome = "conflict"
	case errors.Is(err, domain.ErrNotFound):
		outcome = "not_found"
	default:
		outcome = "error"
	}
	m.commands.WithLabelValues(cmd, outcome).Inc()
}
