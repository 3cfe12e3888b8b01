// Package reports owns reports from the public about published
// conferences: filing one ("Report a problem with this listing": a reason
// from a short list and free text), which passes the intake gate
// (internal/admission) like a submission, and editors resolving or
// dismissing it. Each is its own event on the report's aggregate
// (domain.ReportFiled, …); a report never changes its conference.
//
// It imports the domain, eventlog, httpapi and internal packages; never a
// projection: the open reports it lists come through the Open interface.
package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/clientaddr"
)

// Admitter is the intake gate (*admission.Gate).
type Admitter interface {
	Admit(ctx context.Context, a admission.Admission) (*admission.Grant, error)
}

// Open lists the open reports, grouped by conference (the editors' read
// model, projections/reports); it may lag the log by a moment.
type Open interface {
	Open() []Group
}

// Group is the open reports of one conference.
type Group struct {
	ConferenceID string       `json:"conference_id"`
	Count        int          `json:"count"`
	Reports      []OpenReport `json:"reports"`
}

// OpenReport is one open report.
type OpenReport struct {
	ID     string    `json:"id"`
	Reason string    `json:"reason"`
	Text   string    `json:"text,omitempty"`
	Filed  time.Time `json:"filed"`
}

// Reports files and closes reports. Safe for concurrent use.
type Reports struct {
	log     *eventlog.Log
	logger  *slog.Logger
	gate    Admitter
	clients *clientaddr.Resolver
	open    Open
}

// New returns Reports over log. gate (nil: nothing limited) admits
// filings, clients says which client a request is; open (nil in a process
// without the editors role) lists the open ones.
func New(log *eventlog.Log, logger *slog.Logger, gate Admitter, clients *clientaddr.Resolver, open Open) *Reports {
	return &Reports{log: log, logger: logger, gate: gate, clients: clients, open: open}
}

// ActorPublic is the actor of a filing.
const ActorPublic = "public"

// File appends a report about the published conference id, if the gate
// admits it. An unknown or unpublished conference is domain.ErrNotFound.
func (rp *Reports) File(ctx context.Context, id string, in domain.ReportInput, source string, addr netip.Addr) (string, error) {
	ev, err := domain.ValidateReport(id, in)
	if err != nil {
		return "", err
	}
	ev.Source = source
	c, _, err := eventlog.Fold[domain.Conference](ctx, rp.log, id)
	if err != nil {
		return "", err
	}
	if !c.Public() {
		return "", domain.ErrNotFound
	}
	rid := uuid.Must(uuid.NewV7()).String()
	env, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), rid, ActorPublic, time.Now(), ev)
	if err != nil {
		return "", err
	}
	var grant *admission.Grant
	if rp.gate != nil {
		b, _ := json.Marshal(env)
		size := admission.StoredSize(env.Subject(), b) + 16
		grant, err = rp.gate.Admit(ctx, admission.Admission{Source: "report", Addr: addr, Events: 1, Bytes: size})
		if errors.Is(err, admission.ErrUnavailable) {
			return "", fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
		var r *admission.Refusal
		if errors.As(err, &r) {
			return "", &httpapi.Error{Status: r.Status(), Title: "Too many reports", Detail: r.Detail, RetryAfter: r.RetryAfterSeconds()}
		}
		if err != nil {
			return "", err
		}
		defer func() {
			if err == nil {
				grant.Settle(1, size)
			} else {
				grant.Settle(0, 0)
			}
		}()
	}
	_, err = rp.log.Append(ctx, env, env.ID, 0)
	if err != nil {
		return "", err
	}
	return rid, nil
}

// Close resolves (resolved) or dismisses an open report.
func (rp *Reports) Close(ctx context.Context, id string, resolved bool, note, editor string) (string, error) {
	r, _, err := eventlog.Fold[domain.Report](ctx, rp.log, id)
	if err != nil {
		return "", err
	}
	ev, err := r.Close(resolved, note)
	if err != nil {
		return "", err
	}
	env, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), id, editor, time.Now(), ev)
	if err != nil {
		return "", err
	}
	if _, err := rp.log.Append(ctx, env, env.ID, r.Version); err != nil {
		return "", err
	}
	if resolved {
		return domain.ReportStatusResolved, nil
	}
	return domain.ReportStatusDismissed, nil
}

// PublicRoutes are the public's (the intake role serves them).
//
//	POST /api/v1/conferences/{id}/reports  {"reason": "…", "text": "…"} → 202 {"id": "…"}
func (rp *Reports) PublicRoutes() []httpapi.Route {
	return []httpapi.Route{{Pattern: "POST /api/v1/conferences/{id}/reports", Handler: http.HandlerFunc(rp.handleFile)}}
}

// EditorRoutes are the editors'.
//
//	GET  /api/v1/moderation/reports                open reports by conference, most reported first
//	POST /api/v1/moderation/reports/{id}/resolve   {"note": "…"}
//	POST /api/v1/moderation/reports/{id}/dismiss   {"note": "…"}
func (rp *Reports) EditorRoutes() []httpapi.Route {
	editors := func(pattern string, h func(http.ResponseWriter, *http.Request, string)) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Handler: httpapi.Editor(rp.logger, h), Editors: true}
	}
	return []httpapi.Route{
		editors("GET /api/v1/moderation/reports", rp.handleList),
		editors("POST /api/v1/moderation/reports/{id}/resolve", rp.handleClose(true)),
		editors("POST /api/v1/moderation/reports/{id}/dismiss", rp.handleClose(false)),
	}
}

// Client is the address a request comes from, as the gate counts it.
func (rp *Reports) Client(r *http.Request) netip.Addr {
	if rp.clients != nil {
		return rp.clients.Client(r)
	}
	return clientaddr.Peer(r.RemoteAddr)
}

func (rp *Reports) handleFile(w http.ResponseWriter, r *http.Request) {
	var in domain.ReportInput
	if err := httpapi.Decode(w, r, 16<<10, &in); err != nil {
		httpapi.WriteError(w, r, rp.logger, err)
		return
	}
	id, err := rp.File(r.Context(), r.PathValue("id"), in, "api", rp.Client(r))
	if err != nil {
		httpapi.WriteError(w, r, rp.logger, err)
		return
	}
	httpapi.Write(w, http.StatusAccepted, map[string]string{"id": id, "status": domain.ReportStatusOpen})
}

func (rp *Reports) handleList(w http.ResponseWriter, r *http.Request, _ string) {
	groups := []Group{}
	if rp.open != nil {
		groups = append(groups, rp.open.Open()...)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.Write(w, http.StatusOK, map[string]any{"conferences": groups})
}

func (rp *Reports) handleClose(resolved bool) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, editor string) {
		var body struct {
			Note string `json:"note"`
		}
		if r.ContentLength != 0 {
			if err := httpapi.Decode(w, r, 16<<10, &body); err != nil {
				httpapi.WriteError(w, r, rp.logger, err)
				return
			}
		}
		status, err := rp.Close(r.Context(), r.PathValue("id"), resolved, body.Note, editor)
		if err != nil {
			httpapi.WriteError(w, r, rp.logger, err)
			return
		}
		httpapi.Write(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "status": status})
	}
}

// Open lists the open reports by conference (nil without the editors'
// read model).
func (rp *Reports) Open() []Group {
	if rp.open == nil {
		return nil
	}
	return rp.open.Open()
}
