package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/changes"
)

// Run delivers until ctx ends. Only the process holding the lease (the
// key "leader" of the bucket, renewed every Lease/3, taken over once it
// has not been renewed for Lease) delivers, so each subscription's cursor
// has one writer; several projector processes can run it, one delivers.
//
// Guarantee: every change matching a subscription is delivered in order,
// never skipped; the cursor is stored after each 2xx, before the next
// change. A change is sent again only when an attempt's answer was lost
// (timeout, connection cut) or the deliverer stopped (crash, failover)
// between the target's answer and that write: at least once. Receivers
// deduplicate on webhook-id, stable per subscription and change
// ("<subscription>-<cursor>").
func (w *Webhooks) Run(ctx context.Context, holder string) error {
	kv, err := w.js.KeyValue(ctx, Bucket)
	for err != nil {
		w.logger.Warn("webhooks: waiting for the bucket", slog.Any("err", err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		kv, err = w.js.KeyValue(ctx, Bucket)
	}
	for ctx.Err() == nil {
		if w.acquire(ctx, kv, holder) {
			w.lead(ctx, kv, holder)
		}
		select {
		case <-ctx.Done():
		case <-time.After(w.cfg.Lease / 3):
		}
	}
	w.release(kv, holder)
	return nil
}

// release gives the lease up on a clean stop, so that the next deliverer
// (this process restarted, or another projector) starts at once rather
// than after the lease runs out.
func (w *Webhooks) release(kv jetstream.KeyValue, holder string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e, err := kv.Get(ctx, "leader")
	if err != nil {
		return
	}
	var l lease
	if json.Unmarshal(e.Value(), &l) == nil && l.Holder == holder {
		_ = kv.Delete(ctx, "leader", jetstream.LastRevision(e.Revision()))
	}
}

type lease struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// acquire takes or renews the lease; true while it is ours.
func (w *Webhooks) acquire(ctx context.Context, kv jetstream.KeyValue, holder string) bool {
	val, _ := json.Marshal(lease{Holder: holder, Expires: time.Now().Add(w.cfg.Lease)})
	e, err := kv.Get(ctx, "leader")
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		_, err = kv.Create(ctx, "leader", val)
		return err == nil
	}
	if err != nil {
		return false
	}
	var l lease
	if json.Unmarshal(e.Value(), &l) == nil && l.Holder != holder && time.Now().Before(l.Expires) {
		return false
	}
	_, err = kv.Update(ctx, "leader", val, e.Revision())
	return err == nil
}

// lead runs the followers while the lease is renewed.
func (w *Webhooks) lead(ctx context.Context, kv jetstream.KeyValue, holder string) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (defers run last first)
	defer cancel()
	w.metrics.leader.Set(1)
	defer w.metrics.leader.Set(0)
	// One watch of the change stream wakes every follower at a new
	// change (changes.Reader.Watch, as for the feed's waiting requests),
	// instead of each polling it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = w.changes.Watch(ctx)
	}()
	running := map[string]context.CancelFunc{}
	exited := make(chan string) // a follower that stopped by itself (paused)
	renewed := time.Now()
	for {
	drain:
		for {
			select {
			case id := <-exited:
				delete(running, id)
			default:
				break drain
			}
		}
		if time.Since(renewed) >= w.cfg.Lease/3 {
			if !w.acquire(ctx, kv, holder) {
				w.logger.Info("webhooks: lease lost; deliveries stop here")
				for _, c := range running {
					c()
				}
				return
			}
			renewed = time.Now()
		}
		subs, err := w.subscriptions(ctx)
		if err != nil { // keep the followers as they are: a read that failed is no removal
			if ctx.Err() == nil {
				w.logger.Warn("webhooks: read subscriptions", slog.Any("err", err))
			}
			sleep(ctx, w.cfg.Poll)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		active, paused, behind := 0, 0, 0
		seen := map[string]bool{}
		for _, s := range subs {
			switch s.Status {
			case domain.WebhookStatusActive:
				active++
				seen[s.ID] = true
				if _, ok := running[s.ID]; !ok {
					fctx, fcancel := context.WithCancel(ctx)
					running[s.ID] = fcancel
					wg.Add(1)
					go func(s domain.Webhook) {
						defer wg.Done()
						w.follow(fctx, kv, s)
						if fctx.Err() == nil {
							select {
							case exited <- s.ID:
							case <-ctx.Done():
							}
						}
					}(*s)
				}
			case domain.WebhookStatusPaused:
				paused++
			}
		}
		for id, c := range running {
			if !seen[id] {
				c()
				delete(running, id)
			}
		}
		w.behindMu.Lock()
		for id, b := range w.behindSet {
			if b && seen[id] {
				behind++
			}
		}
		w.behindMu.Unlock()
		w.metrics.subs.WithLabelValues(domain.WebhookStatusActive).Set(float64(active))
		w.metrics.subs.WithLabelValues(domain.WebhookStatusPaused).Set(float64(paused))
		w.metrics.behind.Set(float64(behind))
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.cfg.Poll):
		}
	}
}

func (w *Webhooks) setBehind(id string, b bool) {
	w.behindMu.Lock()
	defer w.behindMu.Unlock()
	if w.behindSet == nil {
		w.behindSet = map[string]bool{}
	}
	w.behindSet[id] = b
}

// follow delivers one subscription's changes in order until ctx ends or
// the subscription is paused.
func (w *Webhooks) follow(ctx context.Context, kv jetstream.KeyValue, s domain.Webhook) {
	log := w.logger.With(slog.String("webhook", s.ID))
	f, err := parseFilter(s.Filter)
	if err != nil { // validated at registration; a filter the feeds no longer know
		w.pauseOrLog(ctx, log, s.ID, "the filter is no longer valid: "+err.Error(), 0)
		return
	}
	st, rev, err := w.load(ctx, kv, s.ID)
	for err != nil {
		if ctx.Err() != nil {
			return
		}
		log.Warn("webhooks: read state", slog.Any("err", err))
		time.Sleep(w.cfg.Poll)
		st, rev, err = w.load(ctx, kv, s.ID)
	}
	if st.Cursor < s.After {
		st.Cursor = s.After
	}
	for ctx.Err() == nil {
		woken := w.changes.Changed() // before the read: a change written after it wakes us
		chs, next, err := w.changes.Read(ctx, f, st.Cursor, 100, 10000)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("webhooks: read changes", slog.Any("err", err))
			}
			sleep(ctx, w.cfg.Poll)
			continue
		}
		w.setBehind(s.ID, len(chs) > 0)
		for _, ch := range chs {
			d, ok := w.deliver(ctx, log, s, ch, func(d Delivery) { // a failing attempt is logged too
				st.record(d)
				rev, _ = w.store(ctx, kv, s.ID, st, rev)
			})
			if !ok {
				return
			}
			st.Cursor = ch.Cursor
			st.record(d)
			if rev, err = w.store(ctx, kv, s.ID, st, rev); err != nil {
				break
			}
		}
		if err == nil && next > st.Cursor {
			st.Cursor = next
			rev, err = w.store(ctx, kv, s.ID, st, rev)
		}
		if err != nil { // read the stored cursor again: what it names was delivered
			if ctx.Err() == nil {
				log.Error("webhooks: store cursor", slog.Any("err", err))
			}
			sleep(ctx, w.cfg.Poll)
			if st, rev, err = w.load(ctx, kv, s.ID); err != nil {
				continue
			}
			st.Cursor = max(st.Cursor, s.After)
			continue
		}
		if len(chs) == 0 {
			// Woken by the change stream's watch (Run starts it), or
			// after the reader's poll when no watch runs.
			w.changes.WaitForChange(ctx, woken)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (st *state) record(d Delivery) {
	if len(st.Deliveries) > 0 && st.Deliveries[0].WebhookID == d.WebhookID {
		st.Deliveries[0] = d
		return
	}
	st.Deliveries = append([]Delivery{d}, st.Deliveries[:min(len(st.Deliveries), logSize-1)]...)
}

func (w *Webhooks) load(ctx context.Context, kv jetstream.KeyValue, id string) (state, uint64, error) {
	e, err := kv.Get(ctx, stateKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return state{}, 0, nil
	}
	if err != nil {
		return state{}, 0, err
	}
	var st state
	return st, e.Revision(), json.Unmarshal(e.Value(), &st)
}

// store writes the state expecting the revision read last: a second
// deliverer (a lease taken over) cannot move a cursor it did not read.
func (w *Webhooks) store(ctx context.Context, kv jetstream.KeyValue, id string, st state, rev uint64) (uint64, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return rev, err
	}
	if rev == 0 {
		return kv.Create(ctx, stateKey(id), b)
	}
	return kv.Update(ctx, stateKey(id), b, rev)
}

// deliver sends one change until the target accepts it (true), or the
// subscription is paused or ctx ends (false).
func (w *Webhooks) deliver(ctx context.Context, log *slog.Logger, s domain.Webhook, ch changes.Change, failed func(Delivery)) (Delivery, bool) {
	body, err := json.Marshal(ch)
	if err != nil {
		log.Error("webhooks: encode change", slog.Any("err", err))
		return Delivery{}, false
	}
	d := Delivery{WebhookID: s.ID + "-" + strconv.FormatUint(ch.Cursor, 10), Cursor: ch.Cursor, Type: ch.Type}
	var since time.Time
	backoff := w.cfg.MinBackoff
	for ctx.Err() == nil {
		d.Attempts++
		d.Time = time.Now()
		status, err := w.send(ctx, s, d.WebhookID, body)
		d.Status = status
		if err == nil {
			w.metrics.deliveries.WithLabelValues("delivered").Inc()
			d.Outcome, d.LastError = "delivered", ""
			return d, true
		}
		if ctx.Err() != nil {
			return d, false
		}
		var refused errRefused
		if errors.As(err, &refused) {
			w.metrics.deliveries.WithLabelValues("refused").Inc()
		} else {
			w.metrics.deliveries.WithLabelValues("failed").Inc()
		}
		d.Outcome, d.LastError = "failing", err.Error()
		failed(d)
		if since.IsZero() {
			since = d.Time
		}
		if time.Since(since) >= w.cfg.PauseAfter {
			reason := fmt.Sprintf("failing since %s (%d attempts): %v", since.UTC().Format(time.RFC3339), d.Attempts, err)
			w.pauseOrLog(ctx, log, s.ID, reason, ch.Cursor)
			return d, false
		}
		sleep(ctx, backoff)
		backoff = min(backoff*2, w.cfg.MaxBackoff)
	}
	return d, false
}

func (w *Webhooks) pauseOrLog(ctx context.Context, log *slog.Logger, id, reason string, cursor uint64) {
	log.Warn("webhooks: pausing", slog.String("reason", reason))
	if err := w.pause(ctx, id, reason, cursor); err != nil && ctx.Err() == nil {
		log.Error("webhooks: pause", slog.Any("err", err))
	}
}

// send POSTs one signed message; a status other than 2xx is an error.
func (w *Webhooks) send(ctx context.Context, s domain.Webhook, id string, body []byte) (int, error) {
	ts := time.Now().Unix()
	sig, err := sign(s.Secret, id, ts, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "JusticeEvents-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the target answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
