package changes

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/projections/engine"
)

// How waiting requests (wait=, SSE) learn of new changes: one watch per
// process on the active generation's change records (Reader.Watch), which
// wakes every waiter at once (wake). A feed server may create consumers on
// the read models' streams but subscribe only to its own inbox
// (deploy/nats), so the watch is a KV watch (an ordered consumer delivering
// to the inbox), new records only, headers only: a new change costs the
// process one small message, however many clients wait.
//
// The watch follows the generation pointer (a rebuild switches it), and a
// waiter re-reads at least every safetyPoll anyway, so that a watch being
// re-made (a NATS reconnect, a switch) delays a change by at most that.
const (
	safetyPoll   = 5 * time.Second
	pointerCheck = 2 * time.Second
)

// wake is a broadcast: Chan returns a channel closed at the next Fire.
type wake struct {
	mu sync.Mutex
	ch chan struct{}
}

func newWake() *wake { return &wake{ch: make(chan struct{})} }

// Chan is closed by the next Fire after the call.
func (w *wake) Chan() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

// Fire wakes every waiter.
func (w *wake) Fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.ch)
	w.ch = make(chan struct{})
}

// Changed returns a channel closed at the next change record the watch
// sees. Take it before reading the changes, so that a change written
// after the read still wakes the caller (WaitForChange): how the webhook
// deliverer (reactors/webhooks) waits, like the waiting requests.
func (rd *Reader) Changed() <-chan struct{} { return rd.wake.Chan() }

// WaitForChange waits until woken (from Changed) is closed, ctx ends, or
// it is time to read again anyway: every Poll while no watch runs, every
// safety interval while one does. It reports false when ctx ended.
func (rd *Reader) WaitForChange(ctx context.Context, woken <-chan struct{}) bool {
	return rd.waitForChange(ctx, woken, nil)
}

// Watch wakes the reader's waiting requests whenever a change record is
// written, until ctx ends. Without it running, waiters look for new
// changes every Poll.
func (rd *Reader) Watch(ctx context.Context) error {
	rd.watching.Store(true)
	defer rd.watching.Store(false)
	failing := false
	for ctx.Err() == nil {
		began := time.Now()
		err := rd.watchGeneration(ctx)
		if err == nil || ctx.Err() != nil {
			failing = false
			continue
		}
		// Warn once per outage (while NATS is away, the watch fails every
		// second; a watch that ran a while before failing starts a new
		// one): waiters meanwhile re-read every safetyPoll.
		level := slog.LevelWarn
		if failing && time.Since(began) < 10*time.Second {
			level = slog.LevelDebug
		}
		failing = true
		rd.log.Log(ctx, level, "change feed: watching new changes", slog.Any("err", err))
		rd.wake.Fire() // whatever was missed meanwhile is read now
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// watchGeneration watches the active generation's change records until
// the pointer moves (a rebuild: waiters are woken to read the new one) or
// the watch fails.
func (rd *Reader) watchGeneration(ctx context.Context) error {
	bucket, err := engine.ActiveBucket(ctx, rd.js, Name)
	if err != nil {
		return err
	}
	kv, err := rd.js.KeyValue(ctx, bucket)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchFiltered(wctx, []string{ChangePrefix + ">"}, jetstream.UpdatesOnly(), jetstream.MetaOnly())
	if err != nil {
		return err
	}
	defer w.Stop()
	rd.wake.Fire() // anything written before the watch began
	check := time.NewTicker(pointerCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errWatchClosed
			}
			if e != nil {
				rd.wake.Fire()
			}
		case <-check.C:
			b, err := engine.ActiveBucket(ctx, rd.js, Name)
			if err != nil {
				return err
			}
			if b != bucket {
				rd.wake.Fire()
				return nil
			}
		}
	}
}

type watchError string

func (e watchError) Error() string { return string(e) }

const errWatchClosed = watchError("the watch of the change stream closed")

// waitForChange waits until a change may have been written (or every
// Poll when no Watch runs, at most safetyPoll when one does), or until
// ctx or deadline ends; it answers false when the request should stop
// waiting. ch must be taken (rd.wake.Chan) BEFORE the read that found
// nothing, so a change written in between wakes at once.
func (rd *Reader) waitForChange(ctx context.Context, ch <-chan struct{}, deadline <-chan time.Time) bool {
	every := rd.Poll
	if rd.watching.Load() {
		every = rd.safety
	}
	t := time.NewTimer(every)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-deadline:
		return false
	case <-ch:
		return true
	case <-t.C:
		return true
	}
}
