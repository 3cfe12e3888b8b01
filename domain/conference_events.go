package domain

import (
	"time"
)

// Conference event type names. They are stored in every event and never
// change; a new payload shape gets a new version beside the old one, and
// the old one is upcast when read (conference_v1.go).
const (
	// Version 2 added the event type, cost, registration and credits to
	// the details.
	TypeConferenceSubmitted = "conference.submitted.v2"
	TypeConferenceUpdated   = "conference.updated.v2"
	TypeConferenceApproved  = "conference.approved.v1"
	TypeConferenceRejected  = "conference.rejected.v1"
	TypeConferenceCancelled = "conference.cancelled.v1"
)

// ConferenceSubmitted opens a conference aggregate, in status pending.
type ConferenceSubmitted struct {
	Details ConferenceDetails `json:"details"`
	Contact Contact           `json:"contact"`
	// Source says how it arrived: api, form, cli, ics.
	Source string `json:"source,omitempty"`
	// RequestHash is Submission.Hash, to recognise a retried request.
	RequestHash string `json:"request_hash"`
	// ReimportOf is the conference an .ics file's VEVENT was imported as
	// before (the same UID from the same contact), when that one was
	// closed (rejected, cancelled, withdrawn: a published one gets the
	// file's version as a proposal instead, producers/intake): this
	// submission is the file's new version of it, flagged in the queue for
	// editors to decide again; "" for any other submission.
	ReimportOf string `json:"reimport_of,omitempty"`
}

// ConferenceUpdated replaces the public details. Changed lists the JSON
// names of the fields that differ from the previous details.
type ConferenceUpdated struct {
	Details ConferenceDetails `json:"details"`
	Changed []string          `json:"changed"`
	// Proposal is the organiser's proposal this update accepts (its event
	// id, organiser.go); "" for an editor's own edit or a re-import.
	Proposal string `json:"proposal,omitempty"`
}

// ConferenceApproved publishes a pending conference.
type ConferenceApproved struct {
	Note string `json:"note,omitempty"`
}

// ConferenceRejected closes a pending conference without publishing it.
type ConferenceRejected struct {
	Reason string `json:"reason,omitempty"`
}

// ConferenceCancelled marks a conference as called off. A published one
// stays in feeds as STATUS:CANCELLED for a while, so subscribers see it.
type ConferenceCancelled struct {
	Reason string `json:"reason,omitempty"`
}

func (ConferenceSubmitted) EventType() string { return TypeConferenceSubmitted }
func (ConferenceUpdated) EventType() string   { return TypeConferenceUpdated }
func (ConferenceApproved) EventType() string  { return TypeConferenceApproved }
func (ConferenceRejected) EventType() string  { return TypeConferenceRejected }
func (ConferenceCancelled) EventType() string { return TypeConferenceCancelled }

func init() {
	register[ConferenceSubmitted](TypeConferenceSubmitted)
	register[ConferenceUpdated](TypeConferenceUpdated)
	register[ConferenceApproved](TypeConferenceApproved)
	register[ConferenceRejected](TypeConferenceRejected)
	register[ConferenceCancelled](TypeConferenceCancelled)
}

// Conference is the write-side state of one conference, folded from its
// events. Commands decide on it; the log stores what they decide.
type Conference struct {
	ID string
	// Version is the stream sequence of the conference's last event. Edits
	// name it (If-Match) and the log checks it on append.
	Version     uint64
	Status      Status
	Details     ConferenceDetails
	Contact     Contact
	RequestHash string
	// ReimportOf is the decided conference this one re-imports
	// (ConferenceSubmitted.ReimportOf); "" for any other.
	ReimportOf string
	Created    time.Time
	Updated    time.Time
	// Published is when an editor approved it; zero while never approved.
	Published time.Time
	// Schedules are its pending plans (schedule.go).
	Schedules Plan
	// Proposal and CancellationRequest are the organiser's open requests
	// (organiser.go); nil when none is open.
	Proposal            *Proposal
	CancellationRequest *CancellationRequest
	// Queued is when it last began to wait for an editor (Waiting): its
	// submission, or the organiser's request that put a decided conference
	// back in the queue. The queue is ordered by it.
	Queued time.Time
}

// Public reports whether the conference may be shown to everyone: an
// editor published it, and it is still published or was cancelled after.
func (c *Conference) Public() bool { return c.Status.Public() && !c.Published.IsZero() }

// AggregateKind implements State.
func (*Conference) AggregateKind() string { return AggregateConference }

// Apply folds one event of this conference into the state. Only a
// submission opens a conference, and only once: anything else stored out
// of that order (which no producer appends) moves the version on and
// changes nothing.
func (c *Conference) Apply(r Record) {
	c.Version = r.Seq
	_, opens := r.Event.(ConferenceSubmitted)
	if opens == c.Exists() {
		return
	}
	c.ID = r.AggregateID
	c.Updated = r.Time
	c.Schedules.apply(r)
	c.applyRequests(r)
	switch e := r.Event.(type) {
	case ConferenceSubmitted:
		c.Status = StatusPending
		c.Details = e.Details
		c.Contact = e.Contact
		c.RequestHash = e.RequestHash
		c.ReimportOf = e.ReimportOf
		c.Created = r.Time
	case ConferenceUpdated:
		c.Details = e.Details
	case ConferenceApproved:
		c.Status = StatusApproved
		c.Published = r.Time
	case ConferenceRejected:
		c.Status = StatusRejected
	case ConferenceCancelled:
		c.Status = StatusCancelled
	case ConferenceUnpublished:
		c.Status = StatusUnpublished
	case ConferenceWithdrawn:
		c.Status = StatusWithdrawn
	}
}

// Exists reports whether a submission has been applied.
func (c *Conference) Exists() bool { return c.Status != "" }

// Approve publishes a pending conference, or again an unpublished one.
func (c *Conference) Approve(note string) (Event, error) {
	if c.Status != StatusPending && c.Status != StatusUnpublished {
		return nil, &TransitionError{Command: "approve", Status: c.Status}
	}
	note, err := cleanReason(note)
	if err != nil {
		return nil, err
	}
	return ConferenceApproved{Note: note}, nil
}

// Reject declines a pending conference.
func (c *Conference) Reject(reason string) (Event, error) {
	if c.Status != StatusPending {
		return nil, &TransitionError{Command: "reject", Status: c.Status}
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ConferenceRejected{Reason: reason}, nil
}

// Cancel calls off a published conference: it stays in feeds as
// cancelled, so subscribers see it. A pending one is rejected instead, so
// that nothing unreviewed ever becomes public.
func (c *Conference) Cancel(reason string) (Event, error) {
	if c.Status != StatusApproved {
		return nil, &TransitionError{Command: "cancel", Status: c.Status}
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ConferenceCancelled{Reason: reason}, nil
}

// Update replaces the details with validated new ones. It returns a nil
// event when nothing changed, so an edit that changes nothing appends nothing.
func (c *Conference) Update(d ConferenceDetails) (Event, error) {
	if c.Status != StatusPending && c.Status != StatusApproved && c.Status != StatusUnpublished {
		return nil, &TransitionError{Command: "edit", Status: c.Status}
	}
	changed := ChangedFields(c.Details, d)
	if len(changed) == 0 {
		return nil, nil
	}
	return ConferenceUpdated{Details: d, Changed: changed}, nil
}

// cleanReason normalises the free text an editor gives with a decision.
func cleanReason(s string) (string, error) {
	s = CleanText(s)
	var errs ValidationError
	checkLength(&errs, "reason", s, MaxReasonLength)
	return s, errs.Err()
}
