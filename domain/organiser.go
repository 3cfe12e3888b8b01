package domain

import (
	"encoding/json"
	"slices"
	"time"
)

// The organiser's requests. An organiser holds a private link to their
// conference (producers/organisers signs it) and through it may withdraw a
// pending submission, ask for a published one to be cancelled, or propose
// changes. Each is an event of the conference (actor ActorOrganiser); none
// changes what the public sees by itself: an editor decides.
//
//   - conference.withdrawn: a pending submission leaves the queue for good,
//     never public (status withdrawn, which takes no more commands).
//   - conference.cancellation_requested: a published conference waits in
//     the queue with the organiser's reason; the editors' cancel completes
//     it (conference.cancelled), or conference.cancellation_declined
//     answers it with a reason. A second request replaces the first.
//   - conference.change_proposed: the full details the organiser proposes
//     and the fields that differ from the details then (Changed). One
//     proposal is open at a time: a new one replaces it. An editor accepts
//     it — a conference.updated naming the proposal (ConferenceUpdated.
//     Proposal), the same event editors' edits append, so every read model
//     and feed follows — or declines it with a reason
//     (conference.proposal_declined). Accepting carries over the proposed
//     fields only, onto the details as they are then (an editor's edit made
//     meanwhile to another field stays).
//
// A rejection, a withdrawal or a cancellation closes what is open; an
// unpublication closes a cancellation request.

// Organiser event type names.
const (
	TypeConferenceWithdrawn             = "conference.withdrawn.v1"
	TypeConferenceCancellationRequested = "conference.cancellation_requested.v1"
	TypeConferenceCancellationDeclined  = "conference.cancellation_declined.v1"
	TypeConferenceChangeProposed        = "conference.change_proposed.v1"
	TypeConferenceProposalDeclined      = "conference.proposal_declined.v1"
)

// StatusWithdrawn: the organiser withdrew the submission before a
// decision. It takes no more commands and is never public.
const StatusWithdrawn Status = "withdrawn"

// ActorOrganiser is the actor of the organiser's events: never their name
// or address (the history shows actors).
const ActorOrganiser = "organiser"

// ConferenceWithdrawn ends a pending submission at its organiser's request.
type ConferenceWithdrawn struct {
	Reason string `json:"reason,omitempty"`
}

// ConferenceCancellationRequested asks the editors to cancel a published
// conference.
type ConferenceCancellationRequested struct {
	Reason string `json:"reason,omitempty"`
}

// ConferenceCancellationDeclined answers a cancellation request: the
// conference stays as it is.
type ConferenceCancellationDeclined struct {
	// Request is the event id of the request it answers.
	Request string `json:"request"`
	Reason  string `json:"reason,omitempty"`
}

// ConferenceChangeProposed is an organiser's proposal: the details they
// want, and the fields that differ from the details when they proposed it.
type ConferenceChangeProposed struct {
	Details ConferenceDetails `json:"details"`
	Changed []string          `json:"changed"`
	// Source says how it arrived: form (the private page), ics (the
	// organiser's calendar file sent again).
	Source string `json:"source,omitempty"`
}

// ConferenceProposalDeclined answers a proposal: nothing changes.
type ConferenceProposalDeclined struct {
	// Proposal is the event id of the proposal it answers.
	Proposal string `json:"proposal"`
	Reason   string `json:"reason,omitempty"`
}

func (ConferenceWithdrawn) EventType() string             { return TypeConferenceWithdrawn }
func (ConferenceCancellationRequested) EventType() string { return TypeConferenceCancellationRequested }
func (ConferenceCancellationDeclined) EventType() string  { return TypeConferenceCancellationDeclined }
func (ConferenceChangeProposed) EventType() string        { return TypeConferenceChangeProposed }
func (ConferenceProposalDeclined) EventType() string      { return TypeConferenceProposalDeclined }

func init() {
	register[ConferenceWithdrawn](TypeConferenceWithdrawn)
	register[ConferenceCancellationRequested](TypeConferenceCancellationRequested)
	register[ConferenceCancellationDeclined](TypeConferenceCancellationDeclined)
	register[ConferenceChangeProposed](TypeConferenceChangeProposed)
	register[ConferenceProposalDeclined](TypeConferenceProposalDeclined)
}

// OrganiserRequest reports whether e is an organiser's request or an
// editor's answer to one that changes nothing the public sees (a proposal,
// a cancellation request, their declines): public read models and the
// public history pass over them. A withdrawal is not one: it ends a
// submission (which was never public).
func OrganiserRequest(e Event) bool {
	switch e.(type) {
	case ConferenceChangeProposed, ConferenceProposalDeclined, ConferenceCancellationRequested, ConferenceCancellationDeclined:
		return true
	}
	return false
}

// Proposal is a conference's open proposal.
type Proposal struct {
	// ID is the proposal's event id: accepting or declining names it.
	ID      string
	At      time.Time
	Details ConferenceDetails
	Changed []string
	Source  string
}

// CancellationRequest is a conference's open cancellation request.
type CancellationRequest struct {
	// ID is the request's event id.
	ID     string
	At     time.Time
	Reason string
}

// Waiting reports whether the conference waits for an editor: a pending
// submission, an open proposal or an open cancellation request. The
// moderation queue holds exactly these (projections/review).
func (c *Conference) Waiting() bool {
	return c.Status == StatusPending || c.Proposal != nil || c.CancellationRequest != nil
}

// applyRequests follows the organiser's requests and what closes them;
// called by Apply before the status changes, so that Waiting still says
// whether the conference waited before this event.
func (c *Conference) applyRequests(r Record) {
	switch e := r.Event.(type) {
	case ConferenceSubmitted:
		c.Queued = r.Time
	case ConferenceChangeProposed:
		if !c.Waiting() {
			c.Queued = r.Time
		}
		c.Proposal = &Proposal{ID: r.ID, At: r.Time, Details: e.Details, Changed: slices.Clone(e.Changed), Source: e.Source}
	case ConferenceProposalDeclined:
		if c.Proposal != nil && c.Proposal.ID == e.Proposal {
			c.Proposal = nil
		}
	case ConferenceUpdated:
		if e.Proposal != "" && c.Proposal != nil && c.Proposal.ID == e.Proposal {
			c.Proposal = nil
		}
	case ConferenceCancellationRequested:
		if !c.Waiting() {
			c.Queued = r.Time
		}
		c.CancellationRequest = &CancellationRequest{ID: r.ID, At: r.Time, Reason: e.Reason}
	case ConferenceCancellationDeclined:
		if c.CancellationRequest != nil && c.CancellationRequest.ID == e.Request {
			c.CancellationRequest = nil
		}
	case ConferenceRejected, ConferenceWithdrawn, ConferenceCancelled:
		c.Proposal, c.CancellationRequest = nil, nil
	case ConferenceUnpublished:
		c.CancellationRequest = nil
	}
}

// Withdraw ends a pending submission at its organiser's request.
func (c *Conference) Withdraw(reason string) (Event, error) {
	if c.Status != StatusPending {
		return nil, &TransitionError{Command: "withdraw", Status: c.Status}
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ConferenceWithdrawn{Reason: reason}, nil
}

// RequestCancellation asks the editors to cancel a published conference.
func (c *Conference) RequestCancellation(reason string) (Event, error) {
	if c.Status != StatusApproved {
		return nil, &TransitionError{Command: "request the cancellation of", Status: c.Status}
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ConferenceCancellationRequested{Reason: reason}, nil
}

// DeclineCancellation answers the open cancellation request: the
// conference stays.
func (c *Conference) DeclineCancellation(reason string) (Event, error) {
	if c.CancellationRequest == nil {
		return nil, &TransitionError{Command: "decline a cancellation request of", Status: c.Status}
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ConferenceCancellationDeclined{Request: c.CancellationRequest.ID, Reason: reason}, nil
}

// ProposeChange proposes details d (validated as a submission's) for the
// conference: a pending, published or unpublished one, as editors may edit.
// It returns a nil event when d is what the conference holds, or what the
// open proposal already proposes: nothing to append.
func (c *Conference) ProposeChange(d ConferenceDetails, source string) (Event, error) {
	if c.Status != StatusPending && c.Status != StatusApproved && c.Status != StatusUnpublished {
		return nil, &TransitionError{Command: "propose changes to", Status: c.Status}
	}
	changed := ChangedFields(c.Details, d)
	if len(changed) == 0 {
		return nil, nil
	}
	if c.Proposal != nil && len(ChangedFields(c.Proposal.Details, d)) == 0 {
		return nil, nil
	}
	return ConferenceChangeProposed{Details: d, Changed: changed, Source: source}, nil
}

// ProposedDetails is what accepting the open proposal would make of the
// details now: its proposed fields carried over onto the current details,
// as the API's input, for validation (ValidateDetails) as of the moment of
// acceptance.
func (c *Conference) ProposedDetails() (SubmissionInput, bool) {
	if c.Proposal == nil {
		return SubmissionInput{}, false
	}
	m := make(map[string]any, len(ConferenceFields))
	for _, f := range ConferenceFields {
		from := c.Details
		if slices.Contains(c.Proposal.Changed, f.Name) {
			from = c.Proposal.Details
		}
		if f.input != nil {
			m[f.Name] = f.input(from)
		} else {
			m[f.Name] = f.value(from)
		}
	}
	var in SubmissionInput
	decodeInput(m, &in)
	return in, true
}

// AcceptProposal accepts the open proposal named proposal with d, the
// validated details ProposedDetails gave: a conference.updated naming it.
// Accepting a proposal whose fields the conference already holds still
// closes it (an update that changes nothing).
func (c *Conference) AcceptProposal(proposal string, d ConferenceDetails) (Event, error) {
	if c.Proposal == nil || c.Proposal.ID != proposal {
		return nil, &TransitionError{Command: "accept a proposal that is not open for", Status: c.Status}
	}
	if c.Status != StatusPending && c.Status != StatusApproved && c.Status != StatusUnpublished {
		return nil, &TransitionError{Command: "edit", Status: c.Status}
	}
	changed := ChangedFields(c.Details, d)
	if changed == nil {
		changed = []string{}
	}
	return ConferenceUpdated{Details: d, Changed: changed, Proposal: proposal}, nil
}

// DeclineProposal answers the open proposal named proposal with a reason.
func (c *Conference) DeclineProposal(proposal, reason string) (Event, error) {
	if c.Proposal == nil || c.Proposal.ID != proposal {
		return nil, &TransitionError{Command: "decline a proposal that is not open for", Status: c.Status}
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ConferenceProposalDeclined{Proposal: proposal, Reason: reason}, nil
}

// FieldChange is one field of a proposal as people compare it: its label,
// its text now and as proposed.
type FieldChange struct {
	Name     string `json:"field"`
	Label    string `json:"label"`
	Now      string `json:"now"`
	Proposed string `json:"proposed"`
}

// ProposalDiff lists the fields the open proposal changes, field by field,
// in the field list's order, against the details as they are now (an
// editor may have changed them since); labels and texts come from the field
// list. A field the conference meanwhile holds as proposed is left out.
func (c *Conference) ProposalDiff() []FieldChange {
	if c.Proposal == nil {
		return nil
	}
	var out []FieldChange
	for _, f := range ConferenceFields {
		if !slices.Contains(c.Proposal.Changed, f.Name) {
			continue
		}
		now, proposed := f.Text(c.Details), f.Text(c.Proposal.Details)
		if f.text == nil || now == proposed {
			a, _ := json.Marshal(f.value(c.Details))
			b, _ := json.Marshal(f.value(c.Proposal.Details))
			if string(a) == string(b) {
				continue
			}
			if f.text == nil {
				now, proposed = string(a), string(b)
			}
		}
		out = append(out, FieldChange{Name: f.Name, Label: f.Label, Now: now, Proposed: proposed})
	}
	return out
}
