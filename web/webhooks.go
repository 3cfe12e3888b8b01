package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth"
)

// Webhook subscriptions on the moderation pages (/moderation/webhooks):
// the list (target, filter, state with the reason of a pause, the last
// change delivered), registration (the secret is shown once, on the answer
// to the registration, and never again), removal, resuming a paused one,
// and each subscription's delivery log. The same commands as the editors'
// API (POST/GET/DELETE /api/v1/webhooks…): Webhooks is reactors/webhooks,
// through the composition root (web imports no reactor).

// Webhooks is the editors' side of webhook subscriptions.
type Webhooks interface {
	Register(ctx context.Context, target, filter, editor string) (Webhook, error)
	List(ctx context.Context) ([]Webhook, error)
	// Get is one subscription, without its secret (domain.ErrNotFound
	// when it does not exist or was removed).
	Get(ctx context.Context, id string) (Webhook, error)
	Remove(ctx context.Context, id, editor string) error
	Resume(ctx context.Context, id, editor string) error
	// Deliveries is the delivery log, newest first.
	Deliveries(ctx context.Context, id string) ([]WebhookDelivery, error)
}

// Webhook is a subscription as the pages show it; Secret only in the
// answer to its registration.
type Webhook struct {
	ID, URL, Filter, Secret string
	Status, Reason          string
	Delivered               uint64
	Registered, Updated     time.Time
	// Last is the newest entry of its delivery log; nil before the first
	// attempt.
	Last *WebhookDelivery
}

// WebhookDelivery is one entry of a delivery log.
type WebhookDelivery struct {
	WebhookID string
	Cursor    uint64
	Type      string
	Status    int
	Outcome   string
	Attempts  int
	LastError string
	Time      time.Time
}

// WebhookRoutes are /moderation/webhooks (the editors role), behind the
// gate like the other moderation pages, their posts checked against
// forgery the same way (editorPage).
func (s *Server) WebhookRoutes(wh Webhooks, gate *auth.Gate) []httpapi.Route {
	m := &modPages{s: s, gate: gate}
	h := &hookPages{m: m, wh: wh}
	editorsOnly := func(pattern string, fn func(http.ResponseWriter, *http.Request, auth.Identity)) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Handler: m.editorPage(fn), Editors: true, Refused: m.signInRefusal}
	}
	return []httpapi.Route{
		editorsOnly("GET /moderation/webhooks", h.handleList),
		editorsOnly("POST /moderation/webhooks", h.handleRegister),
		editorsOnly("GET /moderation/webhooks/{id}", h.handleOne),
		editorsOnly("POST /moderation/webhooks/{id}/remove", h.handleCommand("removed", wh.Remove)),
		editorsOnly("POST /moderation/webhooks/{id}/resume", h.handleCommand("resumed", wh.Resume)),
	}
}

type hookPages struct {
	m  *modPages
	wh Webhooks
}

// hookView is a subscription's row.
type hookView struct {
	Webhook
	Since, Changed, LastWhen string
}

func newHookView(w Webhook) hookView {
	v := hookView{Webhook: w}
	if !w.Registered.IsZero() {
		v.Since = w.Registered.UTC().Format("January 2, 2006, 15:04 UTC")
	}
	if !w.Updated.IsZero() {
		v.Changed = w.Updated.UTC().Format("January 2, 2006, 15:04 UTC")
	}
	if w.Last != nil {
		v.LastWhen = w.Last.Time.UTC().Format("January 2, 2006, 15:04:05 UTC")
	}
	return v
}

// hookFacet is a facet offered as a select on the registration form.
type hookFacet struct {
	Param, Label string
	Terms        []domain.Term
	Chosen       string
}

type hooksData struct {
	editorBase
	Flash, Notice string
	Hooks         []hookView
	// The registration form: its values and errors (by field: url, filter).
	URL, Filter string
	Facets      []hookFacet
	MoreParams  string
	Errors      map[string][]string
	Summary     []summaryItem
}

type hookData struct {
	editorBase
	H          hookView
	Secret     string // just registered: shown this once
	Flash      string
	Deliveries []deliveryView
}

type deliveryView struct {
	WebhookDelivery
	When string
}

// hookFacets are the facets offered as selects: every facet with a short
// vocabulary (the long ones, countries, go in the query-string field).
func hookFacets(chosen url.Values) []hookFacet {
	var out []hookFacet
	for _, f := range domain.Facets {
		if f.Sparse || len(f.Terms) == 0 {
			continue
		}
		out = append(out, hookFacet{Param: f.Param, Label: f.Label, Terms: f.Terms, Chosen: chosen.Get(f.Param)})
	}
	return out
}

// moreParams names what the query-string field takes.
func moreParams() string {
	ps := []string{}
	for _, f := range domain.Facets {
		if f.Sparse || len(f.Terms) == 0 {
			ps = append(ps, f.Param)
		}
	}
	return strings.Join(append(ps, "sponsor", "q", "past"), ", ")
}

func (h *hookPages) listPage(w http.ResponseWriter, r *http.Request, sess auth.Identity, status int, d hooksData) {
	d.editorBase = h.m.base(r, sess)
	subs, err := h.wh.List(r.Context())
	if err != nil {
		h.m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Webhooks unavailable",
			"The webhook subscriptions cannot be read just now. Try again in a moment.")
		return
	}
	for _, s := range subs {
		d.Hooks = append(d.Hooks, newHookView(s))
	}
	if d.Facets == nil {
		d.Facets = hookFacets(url.Values{})
	}
	d.MoreParams = moreParams()
	w.Header().Set("Cache-Control", "no-store")
	h.m.s.page(w, r, status, "moderation", "webhooks", layoutData{Title: "Webhook subscriptions", Section: "moderation", Body: d})
}

func (h *hookPages) handleList(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	d := hooksData{}
	switch r.URL.Query().Get("done") {
	case "removed":
		d.Flash = "The subscription was removed: nothing more is sent to it."
	case "resumed":
		d.Flash = "The subscription was resumed: it continues from the last change delivered."
	}
	h.listPage(w, r, sess, http.StatusOK, d)
}

// handleRegister registers a subscription from the form: the facets'
// selects and the query-string field make its filter. The answer is the
// subscription's page with its secret, the only time it is shown (never
// cached, not a redirect: nothing to reload or go back to).
func (h *hookPages) handleRegister(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	f := r.PostForm
	q := url.Values{}
	for _, fc := range domain.Facets {
		if v := strings.TrimSpace(f.Get("facet-" + fc.Param)); v != "" {
			q.Set(fc.Param, v)
		}
	}
	filter := q.Encode()
	if more := strings.TrimSpace(f.Get("filter")); more != "" {
		filter = strings.TrimPrefix(filter+"&"+strings.TrimPrefix(more, "?"), "&")
	}
	target := strings.TrimSpace(f.Get("url"))
	sub, err := h.wh.Register(r.Context(), target, filter, sess.Editor)
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		d := hooksData{URL: target, Filter: f.Get("filter"), Facets: hookFacets(q), Errors: map[string][]string{}}
		for _, fe := range ve.Fields {
			field := fe.Field
			if field != "url" {
				field = "filter"
			}
			d.Errors[field] = append(d.Errors[field], fe.Message)
			d.Summary = append(d.Summary, summaryItem{Field: "hook-" + field, Label: map[string]string{"url": "Address", "filter": "Filter"}[field], Message: fe.Message})
		}
		h.listPage(w, r, sess, http.StatusUnprocessableEntity, d)
	case err != nil:
		h.m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Nothing was registered",
			"The subscription could not be registered just now. Go back and try again in a moment.")
	default:
		w.Header().Set("Cache-Control", "no-store")
		d := hookData{editorBase: h.m.base(r, sess), H: newHookView(sub), Secret: sub.Secret}
		d.H.Secret = ""
		h.m.s.page(w, r, http.StatusCreated, "moderation", "webhook", layoutData{Title: "Webhook registered", Section: "moderation", Body: d})
	}
}

// handleOne is a subscription's page: what it is and its delivery log.
func (h *hookPages) handleOne(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	id := r.PathValue("id")
	sub, err := h.wh.Get(r.Context(), id)
	if errors.Is(err, domain.ErrNotFound) {
		h.m.s.message(w, r, http.StatusNotFound, "moderation", "moderation", "Subscription not found",
			"There is no webhook subscription with this address (it may have been removed).")
		return
	}
	var ds []WebhookDelivery
	if err == nil {
		ds, err = h.wh.Deliveries(r.Context(), id)
	}
	if err != nil {
		h.m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Webhooks unavailable",
			"The subscription cannot be read just now. Try again in a moment.")
		return
	}
	sub.Secret = ""
	d := hookData{editorBase: h.m.base(r, sess), H: newHookView(sub)}
	if r.URL.Query().Get("done") == "resumed" {
		d.Flash = "Resumed: delivery continues from the last change delivered."
	}
	for _, dl := range ds {
		d.Deliveries = append(d.Deliveries, deliveryView{WebhookDelivery: dl, When: dl.Time.UTC().Format("Jan 2, 2006, 15:04:05 UTC")})
	}
	w.Header().Set("Cache-Control", "no-store")
	h.m.s.page(w, r, http.StatusOK, "moderation", "webhook", layoutData{Title: "Webhook " + sub.URL, Section: "moderation", Body: d})
}

// handleCommand removes or resumes a subscription and goes back to the
// list (a resumed one: to its page).
func (h *hookPages) handleCommand(done string, cmd func(ctx context.Context, id, editor string) error) func(http.ResponseWriter, *http.Request, auth.Identity) {
	return func(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
		id := r.PathValue("id")
		err := cmd(r.Context(), id, sess.Editor)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			h.m.s.message(w, r, http.StatusNotFound, "moderation", "moderation", "Subscription not found",
				"There is no such webhook subscription (it may have been removed already). Go back and reload the list.")
		case err != nil:
			h.m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Nothing was changed",
				"The subscription could not be changed just now. Go back and try again in a moment.")
		case done == "resumed":
			h.m.redirect(w, r, "/moderation/webhooks/"+url.PathEscape(id)+"?done=resumed")
		default:
			h.m.redirect(w, r, "/moderation/webhooks?done="+done)
		}
	}
}
