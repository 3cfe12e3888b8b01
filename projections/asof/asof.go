// Package asof owns time travel over the read models: the models servers
// hold, as they were at any past instant, folded from the prefix of the
// event log up to that instant. Feed servers answer ?as_of= from these
// snapshots byte for byte as they answered then.
//
// Who computes them: feed servers may not read the event log (it holds
// organisers' contacts; deploy/nats/accounts.conf), so the Service runs in
// the processes that may, the projectors, and answers requests over NATS
// (Subject, a queue group: any projector answers). A snapshot holds
// exactly the keys a server of each model holds (engine.OnlyKeys: the
// calendar's public records, not the pending ones), gzip-compressed JSON
// sent in chunks below NATS's message size. The Client is the feed
// servers' side.
//
// Which events: the prefix of the log that ends before the first event
// stamped (by its envelope's time, which a rebuild, a restore and an
// import keep, unlike the stream's own time) after the instant. Times
// from one process are in order; appends racing from several processes
// may be stamped a few milliseconds out of order, and the first one
// stamped after the instant ends the prefix.
//
// Cost, bounded: one replay at a time per process (Config.Queue more may
// wait, the rest are refused busy at once), at most Config.MaxEvents
// events and Config.Timeout per request (refused over budget past
// either). The replay resumes from the nearest state it kept: the last
// replay's folds (a sweep forward through time costs only the events in
// between) or a checkpoint, kept every Config.CheckpointEvery events,
// compressed, within Config.CacheBytes with the snapshots it made. A
// snapshot is cached by the prefix's last sequence, and the prefix of an
// instant older than Settle by the instant.
//
// It imports the domain package and projections/engine, never the event
// log's package nor a producer.
package asof

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Subject is where snapshot requests go; the projectors answer in one
// queue group.
const Subject = "jevents.asof.snapshot"

// queueGroup is the projectors' queue group on Subject.
const queueGroup = "jevents-asof"

// Settle is how old an instant must be for its prefix to be final: an
// event appended now may carry a time up to the event log's timeout (5 s)
// earlier, from a clock that may be a little off. Requests for younger
// instants are answered, but what instant they ended at is not cached.
const Settle = time.Minute

// Errors of a snapshot request. The feed servers map them to HTTP
// (cmd/jevents/service): ErrFuture 400, the others 503.
var (
	// ErrFuture: the instant has not happened yet.
	ErrFuture = errors.New("as_of is in the future")
	// ErrBusy: the replayers have more requests than they may take.
	ErrBusy = errors.New("as-of replays are busy")
	// ErrOverBudget: the replay would read more events, or take longer,
	// than one request may.
	ErrOverBudget = errors.New("as-of replay over its budget")
	// ErrUnavailable: no replayer answers (no projector runs), or the
	// event log cannot be read.
	ErrUnavailable = errors.New("as-of snapshots unavailable")
)

// Snapshot is the read models servers hold, as of an instant.
type Snapshot struct {
	// AsOf is the instant asked for.
	AsOf time.Time `json:"as_of"`
	// Seq is the stream sequence of the prefix's last event (0: the log
	// had no event yet).
	Seq uint64 `json:"seq"`
	// Stream is when the event stream was created (engine.StreamID): a
	// sequence names an event of one stream only.
	Stream time.Time `json:"stream"`
	// Models holds each model's values by key, as JSON.
	Models map[string]map[string]json.RawMessage `json:"models"`
}

// Ref names one prefix of the log: the stream (by its creation time: a
// sequence names an event of one stream only) and its last sequence.
type Ref struct {
	Stream time.Time `json:"stream"`
	Seq    uint64    `json:"seq"`
}

// Key is the Ref as a string, for maps and caches.
func (r Ref) Key() string {
	return strconv.FormatInt(r.Stream.UnixNano(), 10) + ":" + strconv.FormatUint(r.Seq, 10)
}

// Ref is the prefix the snapshot holds.
func (s *Snapshot) Ref() Ref { return Ref{Stream: s.Stream, Seq: s.Seq} }
