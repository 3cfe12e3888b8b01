package service

import (
	"context"

	"github.com/justiceevents/jevents/reactors/webhooks"
	"github.com/justiceevents/jevents/web"
)

// webhookPages hands the moderation pages (web.Webhooks) the same
// commands the editors' API calls (reactors/webhooks): web imports no
// reactor, so this adapter translates their types.
type webhookPages struct{ wh *webhooks.Webhooks }

var _ web.Webhooks = webhookPages{}

func pageHook(s webhooks.Subscription) web.Webhook {
	w := web.Webhook{ID: s.ID, URL: s.URL, Filter: s.Filter, Secret: s.Secret, Status: s.Status, Reason: s.Reason,
		Delivered: s.Delivered, Registered: s.Registered, Updated: s.Updated}
	if d := s.LastDelivery; d != nil {
		last := pageDelivery(*d)
		w.Last = &last
	}
	return w
}

func pageDelivery(d webhooks.Delivery) web.WebhookDelivery {
	return web.WebhookDelivery{WebhookID: d.WebhookID, Cursor: d.Cursor, Type: d.Type, Status: d.Status,
		Outcome: d.Outcome, Attempts: d.Attempts, LastError: d.LastError, Time: d.Time}
}

func (p webhookPages) Register(ctx context.Context, target, filter, editor string) (web.Webhook, error) {
	s, err := p.wh.Register(ctx, webhooks.Input{URL: target, Filter: filter}, editor)
	return pageHook(s), err
}

func (p webhookPages) List(ctx context.Context) ([]web.Webhook, error) {
	subs, err := p.wh.List(ctx)
	out := make([]web.Webhook, 0, len(subs))
	for _, s := range subs {
		out = append(out, pageHook(s))
	}
	return out, err
}

func (p webhookPages) Get(ctx context.Context, id string) (web.Webhook, error) {
	s, err := p.wh.Get(ctx, id)
	return pageHook(s), err
}

func (p webhookPages) Remove(ctx context.Context, id, editor string) error {
	_, err := p.wh.Remove(ctx, id, editor)
	return err
}

func (p webhookPages) Resume(ctx context.Context, id, editor string) error {
	_, err := p.wh.Resume(ctx, id, editor)
	return err
}

func (p webhookPages) Deliveries(ctx context.Context, id string) ([]web.WebhookDelivery, error) {
	ds, err := p.wh.Deliveries(ctx, id)
	out := make([]web.WebhookDelivery, 0, len(ds))
	for _, d := range ds {
		out = append(out, pageDelivery(d))
	}
	return out, err
}
