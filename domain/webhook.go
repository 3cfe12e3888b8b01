package domain

import (
	"net/url"
	"strings"
	"time"
)

// Webhook subscription event type names.
const (
	TypeWebhookRegistered = "webhook.registered.v1"
	TypeWebhookPaused     = "webhook.paused.v1"
	TypeWebhookResumed    = "webhook.resumed.v1"
	TypeWebhookRemoved    = "webhook.removed.v1"
)

// WebhookRegistered opens a webhook subscription: the changes of the
// public change feed matching Filter (the feeds' query syntax, such as
// "topic=policing&region=uk"), after the cursor After, are POSTed to URL,
// signed with Secret (Standard Webhooks, "whsec_<base64>"). The secret is
// stored here, in the private event log (contacts live there too), and
// shown once, in the answer to the registration.
type WebhookRegistered struct {
	URL    string `json:"url"`
	Filter string `json:"filter"`
	Secret string `json:"secret"`
	After  uint64 `json:"after"`
}

// WebhookPaused stops deliveries: the target failed for longer than the
// operator allows (Reason says how). Cursor is the change it failed to
// take (delivery resumes with it).
type WebhookPaused struct {
	Reason string `json:"reason"`
	Cursor uint64 `json:"cursor"`
}

// WebhookResumed restarts deliveries where they stopped.
type WebhookResumed struct{}

// WebhookRemoved ends the subscription for good.
type WebhookRemoved struct{}

func (WebhookRegistered) EventType() string { return TypeWebhookRegistered }
func (WebhookPaused) EventType() string     { return TypeWebhookPaused }
func (WebhookResumed) EventType() string    { return TypeWebhookResumed }
func (WebhookRemoved) EventType() string    { return TypeWebhookRemoved }

func init() {
	register[WebhookRegistered](TypeWebhookRegistered)
	register[WebhookPaused](TypeWebhookPaused)
	register[WebhookResumed](TypeWebhookResumed)
	register[WebhookRemoved](TypeWebhookRemoved)
}

// Webhook states.
const (
	WebhookStatusActive  = "active"
	WebhookStatusPaused  = "paused"
	WebhookStatusRemoved = "removed"
)

// Webhook is the write-side state of one subscription.
type Webhook struct {
	ID      string
	Version uint64
	URL     string
	Filter  string
	Secret  string
	After   uint64
	Status  string
	// Reason and PausedAt describe the last pause.
	Reason     string
	PausedAt   time.Time
	Registered time.Time
	Updated    time.Time
}

// AggregateKind implements State.
func (*Webhook) AggregateKind() string { return AggregateWebhook }

// Apply folds one event of this subscription into the state.
func (w *Webhook) Apply(rec Record) {
	w.Version = rec.Seq
	_, opens := rec.Event.(WebhookRegistered)
	if opens == (w.ID != "") || w.Status == WebhookStatusRemoved {
		return
	}
	w.ID = rec.AggregateID
	w.Updated = rec.Time
	switch e := rec.Event.(type) {
	case WebhookRegistered:
		w.URL, w.Filter, w.Secret, w.After = e.URL, e.Filter, e.Secret, e.After
		w.Status = WebhookStatusActive
		w.Registered = rec.Time
	case WebhookPaused:
		w.Status, w.Reason, w.PausedAt = WebhookStatusPaused, e.Reason, rec.Time
	case WebhookResumed:
		w.Status, w.Reason = WebhookStatusActive, ""
	case WebhookRemoved:
		w.Status = WebhookStatusRemoved
	}
}

// MaxWebhookURLLength bounds a target URL.
const MaxWebhookURLLength = 2000

// ValidateWebhookURL checks a target URL's shape: absolute http or https,
// a host, no credentials, no fragment. Where it may point (no private
// address) is the deliverer's rule, checked again at every connection.
func ValidateWebhookURL(raw string) (string, error) {
	var errs ValidationError
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		errs.Add("url", "required", "the target URL is required")
	case len(raw) > MaxWebhookURLLength:
		errs.Add("url", "too_long", "must be at most %d characters", MaxWebhookURLLength)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		errs.Add("url", "invalid", "must be an absolute http or https URL")
	case u.User != nil:
		errs.Add("url", "invalid", "must not carry credentials")
	case u.Fragment != "":
		errs.Add("url", "invalid", "must not have a fragment")
	}
	return raw, errs.Err()
}
