package notify

import (
	"context"
	"errors"
	"strings"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
)

// plan is the mails one event calls for, rendered; the editors' mail of
// a submission only when editorsNow (false: it is in a digest). It reads the
// conference from the log as it stood at the event (its contact is in the
// submission only; what an edit changed needs the details before it), so
// a mail says what was true when it happened, however late it is sent.
func (n *Notifier) plan(ctx context.Context, rec domain.Record, editorsNow bool) ([]Mail, error) {
	if f, ok := rec.Event.(domain.ReportFiled); ok {
		return n.planReport(ctx, rec, f)
	}
	if rec.Aggregate != domain.AggregateConference {
		return nil, nil
	}
	var before, after *domain.Conference
	if s, ok := rec.Event.(domain.ConferenceSubmitted); ok {
		before = &domain.Conference{}
		after = &domain.Conference{ID: rec.AggregateID, Status: domain.StatusPending, Details: s.Details, Contact: s.Contact}
	} else {
		recs, err := n.log.Load(ctx, domain.AggregateConference, rec.AggregateID)
		if err != nil {
			return nil, err
		}
		before, after = &domain.Conference{}, &domain.Conference{}
		for _, r := range recs {
			if r.Seq < rec.Seq {
				before.Apply(r)
			}
			if r.Seq <= rec.Seq {
				after.Apply(r)
			}
		}
		if !before.Exists() {
			return nil, nil // no submission before it: nothing to tell anyone
		}
	}
	page, feed, cal := links(n.cfg.PublicURL, rec.AggregateID)
	base := strings.TrimRight(n.cfg.PublicURL.String(), "/")
	v := view{Site: base, ID: rec.AggregateID, Title: after.Details.Title, When: when(after.Details), Where: after.Details.Place(),
		Name: after.Contact.Name, QueueURL: base + "/moderation"}
	if n.cfg.PrivateLink != nil && after.Contact.Email != "" {
		v.PrivateURL = n.cfg.PrivateLink(rec.AggregateID, after.Contact)
	}
	var out []Mail
	organiser := func(kind string, v view) error {
		if after.Contact.Email == "" {
			return nil
		}
		m := Mail{Key: keyOf(rec.ID, kind, ""), Kind: kind, Seq: rec.Seq, To: after.Contact}
		if err := render(&m, v); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	}
	editors := func(kind string, v view) error {
		ms, err := n.toEditors(rec, kind, v)
		out = append(out, ms...)
		return err
	}
	var err error
	switch e := rec.Event.(type) {
	case domain.ConferenceSubmitted:
		if err = organiser(KindReceipt, v); err == nil && editorsNow {
			err = editors(KindEditorNew, v)
		}
	case domain.ConferenceApproved:
		v.PageURL, v.FeedURL, v.CalendarURL, v.Reason = page, feed, cal, e.Note
		err = organiser(KindApproved, v)
	case domain.ConferenceRejected:
		v.Reason = e.Reason
		err = organiser(KindRejected, v)
	case domain.ConferenceCancelled:
		v.PageURL, v.Reason = page, e.Reason
		err = organiser(KindCancelled, v)
	case domain.ConferenceUpdated:
		v.Changes = changes(before.Details, after.Details)
		if after.Public() {
			v.PageURL = page
		}
		switch {
		case e.Proposal != "": // the organiser's proposal, accepted
			err = organiser(KindProposalAccepted, v)
		case len(v.Changes) == 0:
			return nil, nil
		default:
			err = organiser(KindChanged, v)
		}
	case domain.ConferenceWithdrawn:
		err = organiser(KindWithdrawn, v)
	case domain.ConferenceChangeProposed:
		v.Changes = changes(before.Details, e.Details)
		err = organiser(KindProposalReceived, v)
	case domain.ConferenceProposalDeclined:
		v.Reason = e.Reason
		if before.Proposal != nil && before.Proposal.ID == e.Proposal {
			v.Changes = changes(before.Details, before.Proposal.Details)
		}
		err = organiser(KindProposalDeclined, v)
	case domain.ConferenceCancellationRequested:
		v.PageURL, v.Reason = page, e.Reason
		err = organiser(KindCancellationRequested, v)
	case domain.ConferenceCancellationDeclined:
		v.PageURL, v.Reason = page, e.Reason
		err = organiser(KindCancellationDeclined, v)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// toEditors is one mail of kind to each editor: never the organiser's
// name, address or private link.
func (n *Notifier) toEditors(rec domain.Record, kind string, v view) ([]Mail, error) {
	v.Name, v.PrivateURL = "", ""
	var out []Mail
	for _, e := range n.cfg.EditorEmails {
		m := Mail{Key: keyOf(rec.ID, kind, e), Kind: kind, Seq: rec.Seq, To: domain.Contact{Email: e}}
		if err := render(&m, v); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// planReport tells the editors of a report from the public.
func (n *Notifier) planReport(ctx context.Context, rec domain.Record, f domain.ReportFiled) ([]Mail, error) {
	if len(n.cfg.EditorEmails) == 0 {
		return nil, nil
	}
	c, _, err := eventlog.Fold[domain.Conference](ctx, n.log, f.ConferenceID)
	if errors.Is(err, domain.ErrNotFound) {
		c = &domain.Conference{}
	} else if err != nil {
		return nil, err
	}
	base := strings.TrimRight(n.cfg.PublicURL.String(), "/")
	page, _, _ := links(n.cfg.PublicURL, f.ConferenceID)
	v := view{Site: base, ID: f.ConferenceID, Title: c.Details.Title, When: when(c.Details), Where: c.Details.Place(),
		PageURL: page, QueueURL: base + "/moderation", Report: &ReportView{Reason: domain.ReportReasonLabel(f.Reason), Text: f.Text}}
	return n.toEditors(rec, KindEditorReported, v)
}
