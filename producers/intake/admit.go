package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/clientaddr"
)

// Every submission passes the intake gate (internal/admission) before it
// is appended: per client address, per contact, a quota shared by all
// intake processes, and the reserve of the log kept for editors. A JSON
// submission is one event; an .ics file is one admission of all its
// VEVENTs, each counting one, so a file is taken whole or refused whole.
// A retry that appends nothing gives its admission back.

// Admitter is the intake gate as intake uses it (*admission.Gate).
type Admitter interface {
	Admit(ctx context.Context, a admission.Admission) (*admission.Grant, error)
}

// Origin says who sent a submission: how it arrived (api, form, cli, ics),
// its actor ("public", or an editor's name) and the client's address
// (clientaddr), which the gate limits.
type Origin struct {
	Source string
	Actor  string
	Addr   netip.Addr
}

// SetGate makes every submission pass g, with the client of an HTTP
// request found by clients. Call it before serving its Routes; without it nothing is
// limited (tests of the producer alone).
func (in *Intake) SetGate(g Admitter, clients *clientaddr.Resolver) {
	in.gate, in.clients = g, clients
}

// origin is the Origin of a request to the intake API.
func (in *Intake) origin(r *http.Request, source string) Origin {
	o := Origin{Source: source, Actor: ActorPublic}
	if in.clients != nil {
		o.Addr = in.clients.Client(r)
	} else {
		o.Addr = clientaddr.Peer(r.RemoteAddr)
	}
	return o
}

// admit asks the gate for events with these contacts and stored sizes. A
// nil grant with a nil error means no gate.
func (in *Intake) admit(ctx context.Context, o Origin, contacts []string, sizes []int64) (*admission.Grant, error) {
	if in.gate == nil {
		return nil, nil
	}
	var total int64
	for _, s := range sizes {
		total += s
	}
	g, err := in.gate.Admit(ctx, admission.Admission{Source: o.Source, Addr: o.Addr, Contacts: contacts, Events: len(sizes), Bytes: total})
	if errors.Is(err, admission.ErrUnavailable) {
		// The gate cannot count: like a log that cannot be reached, 503
		// and retry with the same key.
		return nil, fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	return g, err
}

// storedSize bounds what the submission of conference id takes in the
// log, from its envelope as create makes it.
func storedSize(sub domain.Submission, id, hash, source, actor string) int64 {
	env, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), id, actor, time.Now(), domain.ConferenceSubmitted{
		Details: sub.Details, Contact: sub.Contact, Source: source, RequestHash: hash,
	})
	if err != nil {
		return admission.StoredSize("", nil) + int64(len(sub.Details.Description)+len(sub.Details.Title)) + 4096
	}
	b, _ := json.Marshal(env)
	// The envelope's time is written with a varying number of digits.
	return admission.StoredSize(env.Subject(), b) + 16
}

// refused turns a gate's refusal into the API's answer: 429 with
// Retry-After, or 507 for the reserve, saying why.
func refused(err error) error {
	var r *admission.Refusal
	if errors.As(err, &r) {
		return &httpapi.Error{Status: r.Status(), Title: r.Title(), Detail: r.Detail, RetryAfter: r.RetryAfterSeconds()}
	}
	return err
}
