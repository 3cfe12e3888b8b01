// Package review owns the editors' read model of the moderation queue: one
// small entry per conference waiting for a decision, folded from the
// conference events, kept in its own NATS KV bucket (review_<gen>) that
// only the editors role reads. An entry leaves the model when the
// conference is approved, rejected or withdrawn, unless the organiser's
// request waits (a proposal, a cancellation request): a decided conference
// with one is in the queue until an editor answers it.
//
// Public servers never hold pending submissions (projections/calendar keeps
// them out of what servers replicate), so their memory does not follow the
// queue. Editors' processes hold this model's entries — the queue's order,
// its duplicate keys and a key of each contact — not the submissions: the
// page of the queue an editor looks at is read from the event log, one
// conference at a time (producers/moderation), with the organiser's contact.
// An entry is at most a few hundred bytes whatever was submitted (Entry's
// text is clipped), and the intake gate bounds how many arrive.
//
// Entries hold no contact details: ContactKey is a hash of the
// organiser's e-mail, so that editors can select every pending submission
// of one organiser (a bulk rejection) without the model naming anyone.
//
// It imports the domain package and projections/engine.
package review

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/engine"
)

// Name is the projection's constant name.
const Name = "review"

// KeyPrefix starts the key of every entry.
const KeyPrefix = "pending."

// Key is the entry key of a conference.
func Key(id string) string { return KeyPrefix + id }

// Entry is one conference waiting for a decision, as the queue needs it.
type Entry struct {
	ID      string `json:"id"`
	Version uint64 `json:"version"`
	// Submitted orders the queue (then ID).
	Submitted time.Time `json:"submitted"`
	// Title (at most MaxTitle bytes), Start and End, Where (at most
	// MaxWhere) show the entry where the log cannot be read, and as a
	// possible duplicate of another.
	Title string `json:"title"`
	Start string `json:"start"`
	End   string `json:"end"`
	Where string `json:"where,omitempty"`
	// TitleKey and URLKey find possible duplicates (TitleKey, URLKey).
	TitleKey string `json:"title_key,omitempty"`
	URLKey   string `json:"url_key,omitempty"`
	// ContactKey names the organiser without naming them (ContactKey).
	ContactKey string `json:"contact_key,omitempty"`
	// Source is how it arrived: api, form, cli, ics.
	Source string `json:"source,omitempty"`
	// PublishAt is when an editor's approval with an embargo publishes
	// it (Schedule names the plan); zero without one. It stays in the
	// queue, marked scheduled, until then.
	PublishAt time.Time `json:"publish_at,omitzero"`
	Schedule  string    `json:"schedule,omitempty"`
	// ReimportOf is the published (or decided) conference this one is an
	// .ics re-import of: a duplicate for editors to carry over.
	ReimportOf string `json:"reimport_of,omitempty"`
	// Decided: the conference was approved (or unpublished); it waits
	// here for an answer to its organiser's request only, since Submitted
	// (the request's time: domain.Conference.Queued).
	Decided bool `json:"decided,omitempty"`
	// Proposal is the organiser's open proposal (its event id);
	// CancellationRequested, an open request to cancel it.
	Proposal              string `json:"proposal,omitempty"`
	CancellationRequested bool   `json:"cancellation_requested,omitempty"`
}

// Clipping of an entry's text.
const (
	MaxTitle = 160
	MaxWhere = 80
)

// Projection folds conference events into entries.
type Projection struct{}

// Model is the review read model as the engine runs it (the composition
// root's registry lists it); the editors' processes replicate it.
var Model = engine.Define[Entry](Projection{})

var _ engine.Projection[Entry] = Projection{}

// Name implements engine.Projection.
func (Projection) Name() string { return Name }

// Subjects implements engine.Projection.
func (Projection) Subjects() []string {
	return []string{domain.AggregateFilter(domain.AggregateConference)}
}

// Apply implements engine.Projection. Every kind of conference event the
// queue cares about is handled by name; any other (a kind added later)
// leaves the entry as it is, so that a new event can never silently drop
// a conference from the queue.
func (Projection) Apply(tx *engine.Tx[Entry], r domain.Record) error {
	key := Key(r.AggregateID)
	e, ok := tx.Get(key)
	switch ev := r.Event.(type) {
	case domain.ConferenceSubmitted:
		if ok {
			return fmt.Errorf("review: conference %s submitted twice", r.AggregateID)
		}
		e = Entry{ID: r.AggregateID, Submitted: r.Time, ContactKey: ContactKey(ev.Contact.Email), Source: ev.Source, ReimportOf: ev.ReimportOf}
		e.set(ev.Details)
	case domain.ConferenceUpdated:
		if !ok {
			return nil // a published conference's edit: not in the queue
		}
		e.set(ev.Details)
		if ev.Proposal != "" && ev.Proposal == e.Proposal {
			e.Proposal = ""
		}
	case domain.ConferenceScheduled:
		if !ok || ev.Action != domain.ActionPublish {
			return nil // a plan for a published conference: not in the queue
		}
		e.PublishAt, e.Schedule = ev.At, ev.Schedule
	case domain.ConferenceScheduleCalledOff, domain.ConferenceScheduleLapsed:
		id := scheduleOf(ev)
		if !ok || e.Schedule != id {
			return nil
		}
		e.PublishAt, e.Schedule = time.Time{}, ""
	case domain.ConferenceApproved:
		if !ok {
			return nil
		}
		// Published: it leaves the queue, unless the organiser's
		// proposal is still open (it waits for an editor's answer).
		e.Decided, e.PublishAt, e.Schedule = true, time.Time{}, ""
	case domain.ConferenceRejected, domain.ConferenceWithdrawn, domain.ConferenceCancelled:
		// Closed, with whatever the organiser had asked.
		tx.Delete(key)
		return nil
	case domain.ConferenceUnpublished:
		if !ok {
			return nil
		}
		e.CancellationRequested = false
	case domain.ConferenceChangeProposed:
		if !ok {
			// A decided conference comes back to the queue, from now.
			e = Entry{ID: r.AggregateID, Submitted: r.Time, Decided: true}
			e.set(ev.Details)
		}
		e.Proposal = r.ID
	case domain.ConferenceProposalDeclined:
		if !ok || e.Proposal != ev.Proposal {
			return nil
		}
		e.Proposal = ""
	case domain.ConferenceCancellationRequested:
		if !ok {
			e = Entry{ID: r.AggregateID, Submitted: r.Time, Decided: true}
		}
		e.CancellationRequested = true
	case domain.ConferenceCancellationDeclined:
		if !ok {
			return nil
		}
		e.CancellationRequested = false
	default:
		return nil // not the queue's business: the entry stays as it is
	}
	if e.Decided && e.Proposal == "" && !e.CancellationRequested {
		tx.Delete(key) // decided, and nothing of the organiser's waits
		return nil
	}
	if e.Decided {
		// A published conference is nobody's duplicate in the queue.
		e.TitleKey, e.URLKey, e.ContactKey = "", "", ""
	}
	e.Version = r.Seq
	tx.Put(key, e)
	return nil
}

// scheduleOf names the plan an event ends.
func scheduleOf(ev domain.Event) string {
	switch e := ev.(type) {
	case domain.ConferenceScheduleCalledOff:
		return e.Schedule
	case domain.ConferenceScheduleLapsed:
		return e.Schedule
	}
	return ""
}

func (e *Entry) set(d domain.ConferenceDetails) {
	e.Title = clip(d.Title, MaxTitle)
	e.Start, e.End = d.Start, d.End
	e.Where = clip(Where(d), MaxWhere)
	e.TitleKey, e.URLKey = TitleKey(d), URLKey(d)
}

// Where is "Venue, City, ST" (or "Online").
func Where(d domain.ConferenceDetails) string {
	var parts []string
	for _, p := range []string{d.Location.Venue, d.Location.City, d.Location.Region} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 && d.Format == domain.FormatOnline {
		return "Online"
	}
	return strings.Join(parts, ", ")
}

// TitleKey is what two conferences that may be the same share: the title
// ignoring case, spacing and punctuation, and the same first and last
// dates. Empty for an empty title.
func TitleKey(d domain.ConferenceDetails) string {
	t := NormTitle(d.Title)
	if t == "" {
		return ""
	}
	return t + "|" + datePart(d.Start) + "|" + datePart(d.End)
}

// URLKey is the conference's web address compared loosely (NormURL);
// empty without one.
func URLKey(d domain.ConferenceDetails) string { return NormURL(d.URL) }

// NormTitle compares titles: lower case, words of letters and digits.
func NormTitle(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}

// NormURL compares web addresses: no scheme, no www., no fragment, no
// trailing slash, the host in lower case.
func NormURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.TrimPrefix(strings.ToLower(u.Host), "www.")
	return host + strings.TrimSuffix(u.EscapedPath(), "/") + "?" + u.RawQuery
}

// ContactKey names an organiser's e-mail in the model without spelling
// it: a hash of the address in lower case. It lets editors select one
// organiser's submissions; it cannot be turned back into the address
// without guessing it. Empty for an empty address.
func ContactKey(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("jevents contact v1\x00" + email))
	return hex.EncodeToString(sum[:16])
}

func datePart(s string) string {
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
