package moderation

import (
	"time"

	"github.com/justiceevents/jevents/domain"
)

// Editors' answers to an organiser's requests (domain/organiser.go), given
// like any decision (Decide, POST /api/v1/conferences/{id}/<answer>), and
// each naming the version the editor saw (If-Match, required): a newer
// proposal changes the version, so an editor never accepts a proposal
// they did not see. A cancellation request is completed by the ordinary
// cancel.
const (
	// AcceptProposal carries the open proposal's fields over onto the
	// details as they are now, validated as an edit: a conference.updated
	// naming the proposal.
	AcceptProposal Decision = "accept-proposal"
	// DeclineProposal answers the open proposal with a reason.
	DeclineProposal Decision = "decline-proposal"
	// DeclineCancellation answers the open cancellation request with a
	// reason: the conference stays.
	DeclineCancellation Decision = "decline-cancellation"
)

// Answers are the decisions that answer an organiser's request.
var Answers = []Decision{AcceptProposal, DeclineProposal, DeclineCancellation}

// IsAnswer reports whether d answers an organiser's request.
func IsAnswer(d Decision) bool {
	for _, a := range Answers {
		if a == d {
			return true
		}
	}
	return false
}

// answerRequest decides d, an answer, on c.
func (m *Moderation) answerRequest(c *domain.Conference, d Decision, reason string) (domain.Event, error) {
	switch d {
	case AcceptProposal:
		in, ok := c.ProposedDetails()
		if !ok {
			return nil, &domain.TransitionError{Command: "accept a proposal for", Status: c.Status}
		}
		details, err := domain.ValidateDetails(in, time.Now())
		if err != nil {
			return nil, err
		}
		if m.sponsors != nil {
			details.Sponsors = m.sponsors.LinkSponsors(details.Sponsors)
		}
		return c.AcceptProposal(c.Proposal.ID, details)
	case DeclineProposal:
		if c.Proposal == nil {
			return nil, &domain.TransitionError{Command: "decline a proposal for", Status: c.Status}
		}
		return c.DeclineProposal(c.Proposal.ID, reason)
	}
	return c.DeclineCancellation(reason)
}

// ProposalView is an open proposal as editors see it: when and how it
// came, and field by field what it changes (domain.Conference.ProposalDiff).
type ProposalView struct {
	ID       string               `json:"id"`
	Proposed time.Time            `json:"proposed"`
	Source   string               `json:"source,omitempty"`
	Changes  []domain.FieldChange `json:"changes"`
}

// RequestView is an open cancellation request as editors see it.
type RequestView struct {
	ID        string    `json:"id"`
	Requested time.Time `json:"requested"`
	Reason    string    `json:"reason,omitempty"`
}

// requestsOf are c's open requests, for the editors' answers (nil when
// none is open, so that answers without any stay what they were).
func requestsOf(c *domain.Conference) (*ProposalView, *RequestView) {
	var p *ProposalView
	var r *RequestView
	if c.Proposal != nil {
		p = &ProposalView{ID: c.Proposal.ID, Proposed: c.Proposal.At, Source: c.Proposal.Source, Changes: c.ProposalDiff()}
		if p.Changes == nil {
			p.Changes = []domain.FieldChange{}
		}
	}
	if cr := c.CancellationRequest; cr != nil {
		r = &RequestView{ID: cr.ID, Requested: cr.At, Reason: cr.Reason}
	}
	return p, r
}
