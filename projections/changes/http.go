package changes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/projections/feeds"
)

// Change is one change of a filtered feed as GET /api/v1/changes answers
// it.
type Change struct {
	// Cursor resumes exactly after this change (?after=, Last-Event-ID).
	Cursor uint64 `json:"cursor"`
	// Type is what the change does to the filter's set: published (the
	// conference enters it: approved, or edited into the filter), updated
	// (still in it), cancelled (still in it, now cancelled: feeds keep
	// cancelled conferences so subscribers see it), removed (edited out
	// of the filter).
	Type string    `json:"type"`
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Conference is the public representation after the change (for
	// removed: as it is now, outside the filter).
	Conference *calendar.Conference `json:"conference"`
}

// Page is one answer: the changes after the asked cursor, and the cursor
// to ask next (the last record read, matching or not).
type Page struct {
	Changes []Change `json:"changes"`
	Next    uint64   `json:"next"`
}

// Classify says what a change record does to f's set, and whether it
// touches it at all.
func Classify(f feeds.Filter, r Record) (string, bool) {
	in := func(c *calendar.Conference) bool { return c != nil && c.Public() && f.Match(*c) }
	b, a := in(r.Before), in(r.After)
	switch {
	case !b && a:
		return "published", true
	case b && !a:
		return "removed", true
	case b && a:
		if r.After.Status == domain.StatusCancelled && r.Before.Status != domain.StatusCancelled {
			return "cancelled", true
		}
		return "updated", true
	}
	return "", false
}

// Reader reads the change stream with batched direct gets: no consumer,
// nothing to clean up, allowed to feed servers (deploy/nats).
type Reader struct {
	js  jetstream.JetStream
	log *slog.Logger
	// Poll is how often a waiting request (wait=, SSE) looks for new
	// changes when no Watch runs (a reader that serves no requests);
	// default 250 ms. With Watch running, waiters are woken by new changes
	// (wake.go).
	Poll time.Duration

	wake     *wake
	watching atomic.Bool
	safety   time.Duration // how often a woken waiter re-reads anyway (safetyPoll)
	// waiters bounds the requests waiting at once (wait=, SSE): the feed
	// is public, and each holds a connection and a goroutine.
	waiters chan struct{}
}

// MaxWaiters is how many requests may wait for changes at once in one
// process (long-polls and SSE streams together): a quarter of the
// connections a process holds by default. Beyond it a long-poll answers
// at once what there is, and an SSE request gets 503 with Retry-After.
const MaxWaiters = 1024

// NewReader returns a reader of the active generation's change stream.
func NewReader(js jetstream.JetStream, log *slog.Logger) *Reader {
	return &Reader{js: js, log: log, Poll: 250 * time.Millisecond, wake: newWake(), safety: safetyPoll, waiters: make(chan struct{}, MaxWaiters)}
}

// SetMaxWaiters changes the bound on waiting requests (before serving).
func (rd *Reader) SetMaxWaiters(n int) { rd.waiters = make(chan struct{}, max(n, 1)) }

// wait takes a waiter's place, if one is free; release gives it back.
func (rd *Reader) wait() bool {
	select {
	case rd.waiters <- struct{}{}:
		return true
	default:
		return false
	}
}

func (rd *Reader) release() { <-rd.waiters }

// errUnknownCursor answers a cursor that names no change.
var errUnknownCursor = &httpapi.Error{Status: http.StatusBadRequest, Title: "Unknown cursor",
	Detail: "the cursor is not one this change feed gave; start from the beginning (no cursor)",
	Fields: []domain.FieldError{{Field: "after", Code: "unknown", Message: "not a cursor of this change feed"}}}

// Read returns up to limit changes of f after the cursor, and the cursor
// of the last record it read (after, when none). It reads at most scan
// records.
func (rd *Reader) Read(ctx context.Context, f feeds.Filter, after uint64, limit, scan int) ([]Change, uint64, error) {
	bucket, err := engine.ActiveBucket(ctx, rd.js, Name)
	if err != nil {
		return nil, after, err
	}
	stream := "KV_" + bucket
	subject := "$KV." + bucket + "." + ChangePrefix + ">"
	start := uint64(1)
	if after > 0 {
		m, err := rd.js.Stream(ctx, stream)
		if err != nil {
			return nil, after, err
		}
		raw, err := m.GetLastMsgForSubject(ctx, "$KV."+bucket+"."+ChangeKey(after))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, after, errUnknownCursor
		}
		if err != nil {
			return nil, after, err
		}
		start = raw.Sequence + 1
	}
	var out []Change
	next := after
	for scanned := 0; scanned < scan && len(out) < limit; {
		batch := min(scan-scanned, 1000)
		msgs, err := jetstreamext.GetBatch(ctx, rd.js, stream, batch, jetstreamext.GetBatchSeq(start), jetstreamext.GetBatchSubject(subject))
		if err != nil {
			return nil, after, err
		}
		n := 0
		for m, err := range msgs {
			if errors.Is(err, jetstreamext.ErrNoMessages) {
				break
			}
			if err != nil {
				return nil, after, fmt.Errorf("changes: read %s: %w", stream, err)
			}
			n++
			start = m.Sequence + 1
			var rec Record
			if err := json.Unmarshal(m.Data, &rec); err != nil {
				return nil, after, fmt.Errorf("changes: record %d: %w", m.Sequence, err)
			}
			next = rec.Cursor
			if typ, ok := Classify(f, rec); ok {
				out = append(out, Change{Cursor: rec.Cursor, Type: typ, ID: rec.ID, Time: rec.Time, Conference: rec.After})
				if len(out) == limit {
					break
				}
			}
		}
		scanned += n
		if n == 0 {
			break // the end of the stream (a batch may hold fewer than asked: the server bounds its bytes)
		}
	}
	return out, next, nil
}

// Limits of one answer.
const (
	defaultLimit = 100
	maxLimit     = 1000
	maxScan      = 10000 // records read per answer, matching or not
	maxWait      = 60 * time.Second
	sseBeat      = 15 * time.Second
)

// Routes are the change feed's routes.
func (rd *Reader) Routes() []httpapi.Route {
	return []httpapi.Route{{Pattern: "GET /api/v1/changes", Handler: http.HandlerFunc(rd.handle)}}
}

// handle answers GET /api/v1/changes?topic=&region=&sponsor=&q=&after=&limit=&wait=,
// or a Server-Sent Events stream when the client accepts text/event-stream
// (resumed with Last-Event-ID).
func (rd *Reader) handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := feeds.ParseQuery(q)
	if err != nil {
		httpapi.WriteError(w, r, rd.log, err)
		return
	}
	var errs domain.ValidationError
	after := uint64(0)
	cur := q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		cur = id
	}
	if cur != "" {
		if after, err = strconv.ParseUint(cur, 10, 64); err != nil {
			errs.Add("after", "invalid", "must be a cursor (a number) this feed gave")
		}
	}
	limit := defaultLimit
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxLimit {
			errs.Add("limit", "invalid", "must be a number from 1 to %d", maxLimit)
		}
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		s, err := strconv.Atoi(v)
		if err != nil || s < 0 || time.Duration(s)*time.Second > maxWait {
			errs.Add("wait", "invalid", "must be seconds from 0 to %d", int(maxWait.Seconds()))
		}
		wait = time.Duration(s) * time.Second
	}
	if err := errs.Err(); err != nil {
		httpapi.WriteError(w, r, rd.log, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid change feed query",
			Fields: err.(*domain.ValidationError).Fields})
		return
	}
	if r.Header.Get("Accept") == "text/event-stream" {
		rd.stream(w, r, f, after)
		return
	}
	var (
		deadline <-chan time.Time
		waiting  bool
	)
	for {
		woken := rd.wake.Chan() // before the read: a change written after it wakes us
		cs, next, err := rd.Read(r.Context(), f, after, limit, maxScan)
		if err != nil {
			httpapi.WriteError(w, r, rd.log, err)
			return
		}
		if len(cs) == 0 && wait > 0 && deadline == nil {
			// Nothing yet: wait, if a waiter's place is free; else
			// answer now what there is (nothing), and when to come back.
			if waiting = rd.wait(); waiting {
				defer rd.release()
				t := time.NewTimer(wait)
				defer t.Stop()
				deadline = t.C
			} else {
				w.Header().Set("Retry-After", "5")
				wait = 0
			}
		}
		if len(cs) > 0 || !waiting {
			if cs == nil {
				cs = []Change{}
			}
			w.Header().Set("Cache-Control", "no-store")
			httpapi.Write(w, http.StatusOK, Page{Changes: cs, Next: next})
			return
		}
		after = next // nothing of this filter yet: wait from where we read
		if !rd.waitForChange(r.Context(), woken, deadline) {
			if r.Context().Err() != nil {
				return
			}
			waiting = false // the wait is over: one last read, then answer
		}
	}
}

// stream answers Server-Sent Events: each change an event whose id is its
// cursor, as long as the client stays.
func (rd *Reader) stream(w http.ResponseWriter, r *http.Request, f feeds.Filter, after uint64) {
	fl, ok := w.(http.Flusher)
	if !ok {
		httpapi.WriteError(w, r, rd.log, errors.New("changes: streaming unsupported"))
		return
	}
	if !rd.wait() {
		httpapi.WriteError(w, r, rd.log, errTooManyWaiting)
		return
	}
	defer rd.release()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": Justice Events change feed\nretry: 2000\n\n")
	fl.Flush()
	beat := time.Now()
	for {
		woken := rd.wake.Chan() // before the read: a change written after it wakes us
		cs, next, err := rd.Read(r.Context(), f, after, maxLimit, maxScan)
		if err != nil {
			if r.Context().Err() == nil {
				rd.log.Warn("change feed stream ends", slog.Any("err", err))
			}
			return
		}
		for _, c := range cs {
			data, _ := json.Marshal(c)
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", c.Cursor, c.Type, data)
		}
		if len(cs) > 0 {
			fl.Flush()
			beat = time.Now()
		} else if time.Since(beat) > sseBeat {
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
			beat = time.Now()
		}
		caughtUp := next == after // read to the end of the stream
		after = next
		if !caughtUp {
			continue
		}
		if !rd.waitForChange(r.Context(), woken, nil) {
			return
		}
	}
}

// errTooManyWaiting answers an SSE request beyond MaxWaiters.
var errTooManyWaiting = &httpapi.Error{Status: http.StatusServiceUnavailable, Title: "Too many clients waiting",
	Detail: "too many clients are following the change feed on this server; retry later, or poll with ?after=", RetryAfter: 5}

// Last is the cursor of the newest change in the stream (0 when there is
// none yet): where a follower that wants only what comes next starts
// (a webhook subscription, at its registration).
func (rd *Reader) Last(ctx context.Context) (uint64, error) {
	bucket, err := engine.ActiveBucket(ctx, rd.js, Name)
	if err != nil {
		return 0, err
	}
	m, err := rd.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return 0, err
	}
	raw, err := m.GetLastMsgForSubject(ctx, "$KV."+bucket+"."+ChangePrefix+">")
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, ok := cursorOf(raw.Subject)
	if !ok {
		return 0, fmt.Errorf("changes: record subject %q", raw.Subject)
	}
	return n, nil
}
