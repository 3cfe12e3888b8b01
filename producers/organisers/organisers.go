// Package organisers owns the organiser's side of a conference: the
// private link that lets the person who submitted it act on it without an
// account, and the requests they make through it — withdraw a pending
// submission, ask for a published one to be cancelled, propose changes
// (domain/organiser.go). Editors answer them (producers/moderation).
//
// The link (Links) is signed with the server secret (internal/serversecret,
// the key derived for "organiser-link", so rotating the secret rotates it)
// and bound to one conference id, an expiry, and a hash of the contact
// e-mail the conference holds: a link for another conference, a tampered
// or an expired one is refused, and a link made for an earlier contact
// stops working. The link is a bearer capability: whoever holds it acts
// for the organiser, until it expires (TTL). It is never logged, never in
// a metric label, page or feed but the organiser's own page and mails.
//
// Every request passes the intake gate (internal/admission, source
// "organiser") like a submission, names the version of the conference the
// organiser saw (optimistic concurrency: a conference that changed since is
// refused with a *domain.VersionError and nothing is appended), and is
// idempotent under its form's key.
//
// It imports the domain, eventlog (and its history), httpapi and internal
// packages; never a projection.
package organisers

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/eventlog/history"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/serversecret"
)

// DefaultTTL is how long a private link works: every mail to the organiser
// carries a fresh one, so a link in the latest mail works for 60 days.
const DefaultTTL = 60 * 24 * time.Hour

// Purpose is the server secret's derivation for private links.
const Purpose = "organiser-link"

// Refusals of a link. Neither says whether the conference exists.
var (
	// ErrLinkInvalid: not a link this server made for this conference and
	// its contact (garbled, tampered, another conference's, a contact that
	// changed, a secret no longer configured), or no such conference.
	ErrLinkInvalid = errors.New("organisers: this private link is not valid")
	// ErrLinkExpired: a link this server made, past its expiry.
	ErrLinkExpired = errors.New("organisers: this private link has expired")
)

// Links signs and checks private links. Safe for concurrent use.
type Links struct {
	keys *serversecret.Keys
	ttl  time.Duration
}

// NewLinks returns the links signed with the server's keys (derived for
// Purpose here), valid for ttl (DefaultTTL when 0).
func NewLinks(keys *serversecret.Keys, ttl time.Duration) *Links {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Links{keys: keys.Derive(Purpose), ttl: ttl}
}

// TTL is how long a link works from when it is made.
func (l *Links) TTL() time.Duration { return l.ttl }

// Token is the private link's token for conference id and its contact,
// valid from now for the TTL: "<id>.<expiry, base 36 Unix seconds>.<MAC>".
func (l *Links) Token(id string, contact domain.Contact, now time.Time) string {
	exp := strconv.FormatInt(now.Add(l.ttl).Unix(), 36)
	return id + "." + exp + "." + base64.RawURLEncoding.EncodeToString(l.keys.Sign(linkMessage(id, exp, contact.Email)))
}

// linkMessage is what a link's MAC covers.
func linkMessage(id, exp, email string) []byte {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return []byte("jevents organiser link v1\x00" + id + "\x00" + exp + "\x00" + hex.EncodeToString(sum[:]))
}

// parsed is a token's parts.
type parsed struct {
	id, exp string
	expires time.Time
	mac     []byte
}

// parse splits a token, refusing anything that is not shaped as one.
func parse(token string) (parsed, bool) {
	if len(token) > 200 {
		return parsed{}, false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || !domain.ValidID(parts[0]) {
		return parsed{}, false
	}
	secs, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || secs <= 0 || strconv.FormatInt(secs, 36) != parts[1] {
		return parsed{}, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(mac) != sha256.Size {
		return parsed{}, false
	}
	return parsed{id: parts[0], exp: parts[1], expires: time.Unix(secs, 0), mac: mac}, true
}

// ID is the conference a token names, unchecked (for the page's
// routing only; Check says whether it is valid).
func ID(token string) string {
	p, _ := parse(token)
	return p.id
}

// Check says whether token is a valid link for the conference c at now:
// ErrLinkInvalid, ErrLinkExpired or nil. The MAC is checked before the
// expiry, so that "expired" is only ever said of a link this server made.
func (l *Links) Check(token string, c *domain.Conference, now time.Time) error {
	p, ok := parse(token)
	if !ok || c == nil || !c.Exists() || c.ID != p.id || !l.keys.Verify(linkMessage(p.id, p.exp, c.Contact.Email), p.mac) {
		return ErrLinkInvalid
	}
	if !now.Before(p.expires) {
		return ErrLinkExpired
	}
	return nil
}

// Admitter is the intake gate (*admission.Gate).
type Admitter interface {
	Admit(ctx context.Context, a admission.Admission) (*admission.Grant, error)
}

// Organisers answers private links and takes the organiser's requests.
// Safe for concurrent use.
type Organisers struct {
	log    *eventlog.Log
	logger *slog.Logger
	links  *Links
	gate   Admitter
}

// New returns Organisers over log; gate (nil: nothing limited) admits the
// requests.
func New(log *eventlog.Log, links *Links, gate Admitter, logger *slog.Logger) *Organisers {
	return &Organisers{log: log, links: links, gate: gate, logger: logger}
}

// Links are the private links this server signs.
func (o *Organisers) Links() *Links { return o.links }

// Access is what a valid private link opens: the conference as the log
// holds it and its history as its organiser sees it.
type Access struct {
	Conference *domain.Conference
	History    history.History
}

// Open checks token and reads its conference: ErrLinkInvalid (also for a
// conference that does not exist), ErrLinkExpired, or a log error.
func (o *Organisers) Open(ctx context.Context, token string) (*Access, error) {
	c, recs, err := o.load(ctx, token)
	if err != nil {
		return nil, err
	}
	return &Access{Conference: c, History: history.OrganiserHistory(c.ID, recs)}, nil
}

func (o *Organisers) load(ctx context.Context, token string) (*domain.Conference, []domain.Record, error) {
	p, ok := parse(token)
	if !ok {
		return nil, nil, ErrLinkInvalid
	}
	c, recs, err := eventlog.Fold[domain.Conference](ctx, o.log, p.id)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, nil, err
	}
	if err := o.links.Check(token, c, time.Now()); err != nil {
		return nil, nil, err
	}
	return c, recs, nil
}

// Request is one request through a private link.
type Request struct {
	Token string
	// Version is the conference's version the organiser saw: required.
	Version uint64
	// Key is the form's idempotency key: the same request again appends
	// nothing and answers as the first did.
	Key string
	// Addr is the client, for the gate.
	Addr netip.Addr
}

// Result answers a request.
type Result struct {
	ID      string        `json:"id"`
	Status  domain.Status `json:"status"`
	Version uint64        `json:"version"`
	// Unchanged: the request asked for nothing new (a proposal of the
	// current details, or of what the open proposal says); nothing was
	// appended.
	Unchanged bool `json:"unchanged,omitempty"`
}

// Withdraw withdraws a pending submission.
func (o *Organisers) Withdraw(ctx context.Context, req Request, reason string) (Result, error) {
	return o.command(ctx, req, "withdraw", []byte(reason), func(c *domain.Conference) (domain.Event, error) {
		return c.Withdraw(reason)
	})
}

// RequestCancellation asks the editors to cancel a published conference.
func (o *Organisers) RequestCancellation(ctx context.Context, req Request, reason string) (Result, error) {
	return o.command(ctx, req, "request-cancellation", []byte(reason), func(c *domain.Conference) (domain.Event, error) {
		return c.RequestCancellation(reason)
	})
}

// Propose proposes changes: patch is a JSON object of the submission's
// field names (the private page's form, as domain.FormPatch makes it)
// merged onto the current details and validated as a submission is
// (domain.ValidateDetails); source says where it came from (form).
func (o *Organisers) Propose(ctx context.Context, req Request, patch []byte, source string) (Result, error) {
	return o.command(ctx, req, "propose", patch, func(c *domain.Conference) (domain.Event, error) {
		in := c.Details.Input()
		if err := httpapi.DecodeBytes(patch, &in); err != nil {
			return nil, err
		}
		d, err := domain.ValidateDetails(in, time.Now())
		if err != nil {
			return nil, err
		}
		// Sponsors keep their directory links where the names did not
		// change; new names are text until an editor links them.
		for i := range d.Sponsors {
			for _, sp := range c.Details.Sponsors {
				if strings.EqualFold(sp.Name, d.Sponsors[i].Name) {
					d.Sponsors[i].ID = sp.ID
				}
			}
		}
		return c.ProposeChange(d, source)
	})
}

// namespace derives request event ids from form keys (UUIDv5).
var namespace = uuid.MustParse("3c1f0a9e-6d2b-4e57-8a41-9b0c7e5d2f13")

// command checks the link, decides on the conference at the version the
// organiser saw, passes the gate and appends expecting that version.
func (o *Organisers) command(ctx context.Context, req Request, name string, body []byte,
	decide func(*domain.Conference) (domain.Event, error)) (_ Result, err error) {
	c, recs, err := o.load(ctx, req.Token)
	if err != nil {
		return Result{}, err
	}
	eventID := uuid.Must(uuid.NewV7()).String()
	if req.Key != "" {
		h := sha256.New()
		for _, part := range [][]byte{[]byte(c.ID), []byte(req.Key), []byte(name), body} {
			h.Write(part)
			h.Write([]byte{0})
		}
		eventID = uuid.NewSHA1(namespace, h.Sum(nil)).String()
		for _, r := range recs {
			if r.ID == eventID { // done by an earlier attempt
				return Result{ID: c.ID, Status: c.Status, Version: c.Version}, nil
			}
		}
	}
	if req.Version == 0 {
		return Result{}, domain.ErrPreconditionRequired
	}
	if req.Version != c.Version {
		return Result{}, &domain.VersionError{Expected: req.Version, Current: c.Version}
	}
	ev, err := decide(c)
	if err != nil {
		return Result{}, err
	}
	if ev == nil {
		return Result{ID: c.ID, Status: c.Status, Version: c.Version, Unchanged: true}, nil
	}
	env, err := domain.NewEnvelope(eventID, c.ID, domain.ActorOrganiser, time.Now(), ev)
	if err != nil {
		return Result{}, err
	}
	if o.gate != nil {
		b, _ := json.Marshal(env)
		size := admission.StoredSize(env.Subject(), b) + 16
		var grant *admission.Grant
		grant, err = o.gate.Admit(ctx, admission.Admission{Source: "organiser", Addr: req.Addr,
			Contacts: []string{c.Contact.Email}, Events: 1, Bytes: size})
		if errors.Is(err, admission.ErrUnavailable) {
			return Result{}, fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
		var r *admission.Refusal
		if errors.As(err, &r) {
			return Result{}, &httpapi.Error{Status: r.Status(), Title: "Too many requests", Detail: r.Detail, RetryAfter: r.RetryAfterSeconds()}
		}
		if err != nil {
			return Result{}, err
		}
		defer func() { // err is the result: settled by what the append did
			if err == nil {
				grant.Settle(1, size)
			} else {
				grant.Settle(0, 0)
			}
		}()
	}
	a, err := o.log.Append(ctx, env, "organiser:"+c.ID+":"+eventID, c.Version)
	if err != nil {
		return Result{}, err
	}
	c.Apply(domain.Record{Seq: a.Seq, Envelope: env, Event: ev})
	return Result{ID: c.ID, Status: c.Status, Version: a.Seq}, nil
}
