package notify

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/justiceevents/jevents/domain"
)

// The kinds of mail, as metrics and the sent record name them.
const (
	KindReceipt        = "receipt"         // organiser: we have your submission
	KindApproved       = "approved"        // organiser: it is public
	KindRejected       = "rejected"        // organiser: an editor declined it, and why
	KindChanged        = "changed"         // organiser: an editor changed it, and what
	KindCancelled      = "cancelled"       // organiser: it is marked cancelled
	KindEditorNew      = "editor_new"      // editors: a new submission waits
	KindEditorReported = "editor_reported" // editors: the public reported a listing
	KindEditorDigest   = "editor_digest"   // editors: the new submissions of a digest window (digest.go)
	// The organiser's requests through their private page
	// (domain/organiser.go), and the editors' answers.
	KindWithdrawn             = "withdrawn"              // organiser: your withdrawal is done
	KindProposalReceived      = "proposal_received"      // organiser: we have your proposed changes
	KindProposalAccepted      = "proposal_accepted"      // organiser: an editor accepted them, and what changed
	KindProposalDeclined      = "proposal_declined"      // organiser: an editor declined them, and why
	KindCancellationRequested = "cancellation_requested" // organiser: we have your request to cancel
	KindCancellationDeclined  = "cancellation_declined"  // organiser: an editor declined it, and why
)

// KindLabel says what a kind of mail is, as editors read it (the dead
// letters' page).
func KindLabel(kind string) string {
	switch kind {
	case KindReceipt:
		return "Receipt to the organiser"
	case KindApproved:
		return "Approval to the organiser"
	case KindRejected:
		return "Rejection to the organiser"
	case KindChanged:
		return "Editor's changes to the organiser"
	case KindCancelled:
		return "Cancellation to the organiser"
	case KindEditorNew:
		return "New submission to an editor"
	case KindEditorReported:
		return "Report to an editor"
	case KindEditorDigest:
		return "Digest of submissions to an editor"
	case KindWithdrawn:
		return "Withdrawal to the organiser"
	case KindProposalReceived:
		return "Proposal received, to the organiser"
	case KindProposalAccepted:
		return "Proposal accepted, to the organiser"
	case KindProposalDeclined:
		return "Proposal declined, to the organiser"
	case KindCancellationRequested:
		return "Cancellation request received, to the organiser"
	case KindCancellationDeclined:
		return "Cancellation request declined, to the organiser"
	}
	return kind
}

// Kinds lists every kind, for metrics.
var Kinds = []string{KindReceipt, KindApproved, KindRejected, KindChanged, KindCancelled, KindEditorNew, KindEditorReported, KindEditorDigest,
	KindWithdrawn, KindProposalReceived, KindProposalAccepted, KindProposalDeclined, KindCancellationRequested, KindCancellationDeclined}

// Mail is one message to one recipient, ready to send. Key names it for
// ever: the sent record, the dead letters and its Message-ID derive from
// it, and it derives from the event that caused it.
type Mail struct {
	Key     string
	Kind    string
	Seq     uint64 // the causing event's stream sequence
	To      domain.Contact
	Subject string
	Text    string
	HTML    string
}

//go:embed templates
var templateFS embed.FS

// The mails' text and HTML, one template file each, every kind a block:
// "<kind>.subject", "<kind>" in mails.txt and "<kind>" in mails.html.
// html/template escapes every value in the HTML part; the plain part is
// text, and the subject one line.
var (
	textTemplates = texttemplate.Must(texttemplate.New("").ParseFS(templateFS, "templates/mails.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Funcs(htmltemplate.FuncMap{"changesOf": changesOf}).
			ParseFS(templateFS, "templates/mails.html"))
)

// changesTable is a table of changes with its two columns' headings.
type changesTable struct {
	Was, Now string
	Changes  []Change
}

func changesOf(was, now string, cs []Change) changesTable { return changesTable{was, now, cs} }

// view is what the templates see.
type view struct {
	Site        string // the public URL
	ID          string
	Title       string
	When        string
	Where       string
	Name        string // the recipient's name, may be empty
	Reason      string
	PageURL     string
	FeedURL     string
	CalendarURL string
	PrivateURL  string // the organiser's private page; empty when not offered
	QueueURL    string
	Changes     []Change
	Report      *ReportView
	// Digest and Window are an editors' digest: the submissions of the
	// window, and the window as people read it.
	Digest []DigestLine
	Window string
}

// DigestLine is one submission in an editors' digest.
type DigestLine struct {
	Title, When, Where string
	// URL is its moderation page.
	URL string
}

// ReportView is a report from the public as the editors' mail shows it.
type ReportView struct {
	Reason string
	Text   string
}

// Change is one field an editor changed, as people read it.
type Change struct {
	Label, Before, After string
}

// render fills m's subject and parts from the templates of its kind.
func render(m *Mail, v view) error {
	var subj, txt, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&subj, m.Kind+".subject", v); err != nil {
		return fmt.Errorf("notify: subject of %s: %w", m.Kind, err)
	}
	if err := textTemplates.ExecuteTemplate(&txt, m.Kind, v); err != nil {
		return fmt.Errorf("notify: text of %s: %w", m.Kind, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, m.Kind, v); err != nil {
		return fmt.Errorf("notify: html of %s: %w", m.Kind, err)
	}
	m.Subject = oneLine(subj.String())
	m.Text, m.HTML = txt.String(), html.String()
	return nil
}

// oneLine makes a header value of s: every control character (CR and LF
// among them) a space, runs of space one. go-mail encodes what is left
// (RFC 2047), so no text of anyone's can add a header.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// message turns m into a go-mail message: From, To (the contact's name
// encoded, never able to add a header), Subject, a Message-ID derived from
// the key, Auto-Submitted (RFC 3834) so that auto-responders stay quiet,
// plain text with an HTML alternative. No tracking: no pixel, no rewritten
// links, no per-recipient identifiers beyond the Message-ID.
func message(m Mail, from, domainName string) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.AddToFormat(oneLine(m.To.Name), m.To.Email); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.Key + "@" + domainName)
	msg.SetDate()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Auto-Response-Suppress", "All")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	return msg, nil
}

// addressKey is a short, stable name for an address in a mail's key: the
// sent record never holds an address.
func addressKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:6])
}

// links are the public addresses of a conference.
func links(pub *url.URL, id string) (page, feed, calendar string) {
	base := strings.TrimRight(pub.String(), "/")
	esc := url.PathEscape(id)
	return base + "/conferences/" + esc, base + "/conferences/" + esc + ".ics", base + "/calendar.ics"
}

// when is the conference's dates as people read them.
func when(d domain.ConferenceDetails) string {
	start, end := d.Start, d.End
	if !d.AllDay {
		start, end = strings.Replace(start, "T", " ", 1), strings.Replace(end, "T", " ", 1)
		if len(start) > 16 {
			start = start[:16]
		}
		if len(end) > 16 {
			end = end[:16]
		}
	}
	s := start
	if end != "" && end != start {
		s += " – " + end
	}
	if d.Timezone != "" && !d.AllDay {
		s += " (" + d.Timezone + ")"
	}
	return s
}

// changes lists the fields that differ between before and after, each
// with its label and its text as the conference field list gives them
// (domain.ConferenceFields), in the list's order: a new field appears in
// the mail without an edit here.
func changes(before, after domain.ConferenceDetails) []Change {
	var out []Change
	for _, name := range domain.ChangedFields(before, after) {
		f, ok := domain.Field(name)
		if !ok {
			continue
		}
		out = append(out, Change{Label: f.Label, Before: f.Text(before), After: f.Text(after)})
	}
	return out
}

// age is how old an event is.
func age(r domain.Record) time.Duration { return time.Since(r.Time) }
