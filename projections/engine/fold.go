package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
)

// Folds: a read model folded in memory, from a prefix of the log, without
// a bucket. The as-of service (projections/asof) folds the log up to an
// instant into the models servers hold and hands them over; a dry-run
// rebuild compares what a bucket holds. A fold applies events exactly as
// the projector does (Projection.Apply, poison skipped), so a fold of the
// log up to a sequence holds what the projector's bucket held when its
// checkpoint was at that sequence.

// Fold is one read model folded in memory. It is not safe for concurrent
// use.
type Fold interface {
	// Name is the projection's name.
	Name() string
	// Wants reports whether the projection consumes events of subject.
	Wants(subject string) bool
	// Apply folds one event (or skips it, as the projector skips poison:
	// decodeErr set, or an event the projection refuses).
	Apply(r domain.Record, decodeErr error)
	// Len is the number of keys the model holds.
	Len() int
	// Encode returns the JSON of the values by key: every value with all
	// set (to resume a fold from, Load), else only those a server of the
	// model holds (the definition's OnlyKeys).
	Encode(all bool) (map[string]json.RawMessage, error)
	// Load replaces the model's values with encoded ones: what Encode(true)
	// made of a fold of the same model.
	Load(values map[string]json.RawMessage) error
}

// fold is a Definition's Fold.
type fold[V any] struct {
	def     *Definition[V]
	tx      *Tx[V]
	filters []string
	skipped int
}

// NewFold returns an empty in-memory fold of the model.
func (d *Definition[V]) NewFold() Fold {
	var o replicaOptions
	for _, opt := range d.replicas {
		opt(&o)
	}
	return &fold[V]{def: d, tx: NewTx[V](), filters: o.keys}
}

func (f *fold[V]) Name() string { return f.def.Name() }

func (f *fold[V]) Wants(subject string) bool {
	return slices.ContainsFunc(f.def.proj.Subjects(), func(filter string) bool { return SubjectMatches(filter, subject) })
}

func (f *fold[V]) Apply(r domain.Record, decodeErr error) {
	if decodeErr != nil {
		f.skipped++
		return
	}
	// Apply must leave tx as it was when it fails (Projection): the
	// projector relies on it too.
	if err := f.def.proj.Apply(f.tx, r); err != nil {
		f.skipped++
	}
	clear(f.tx.dirty)
}

func (f *fold[V]) Len() int { return len(f.tx.values) }

func (f *fold[V]) Encode(all bool) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(f.tx.values))
	for k, v := range f.tx.values {
		if !all && len(f.filters) > 0 && !slices.ContainsFunc(f.filters, func(filter string) bool { return SubjectMatches(filter, k) }) {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("readmodel: encode %s %s: %w", f.Name(), k, err)
		}
		out[k] = b
	}
	return out, nil
}

func (f *fold[V]) Load(values map[string]json.RawMessage) error {
	m, err := f.def.Decode(values)
	if err != nil {
		return err
	}
	f.tx = &Tx[V]{values: m, dirty: map[string]struct{}{}}
	return nil
}

// Decode reads encoded values of the model (a snapshot's, a bucket's).
func (d *Definition[V]) Decode(values map[string]json.RawMessage) (map[string]V, error) {
	out := make(map[string]V, len(values))
	for k, b := range values {
		var v V
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("readmodel: decode %s %s: %w", d.Name(), k, err)
		}
		out[k] = v
	}
	return out, nil
}

// SubjectMatches reports whether a NATS subject (or a KV key, whose
// tokens are separated by dots too) matches a filter with the wildcards *
// (one token) and > (the rest).
func SubjectMatches(filter, subject string) bool {
	for {
		ft, frest, fmore := strings.Cut(filter, ".")
		st, srest, smore := strings.Cut(subject, ".")
		switch {
		case ft == ">":
			return true
		case ft != "*" && ft != st:
			return false
		case !fmore || !smore:
			return fmore == smore
		}
		filter, subject = frest, srest
	}
}

// Static is a read model held in memory as fixed values: a fold's
// snapshot, for a server answering as of another moment than now. It
// reads like a Replica (Get, Range) and is safe for concurrent use
// because it never changes.
type Static[V any] struct {
	values map[string]V
}

// NewStatic holds values; the map must not be changed afterwards.
func NewStatic[V any](values map[string]V) *Static[V] { return &Static[V]{values: values} }

// Get returns the value of key.
func (s *Static[V]) Get(key string) (V, bool) {
	v, ok := s.values[key]
	return v, ok
}

// Range calls fn for every key until fn returns false, in key order (so
// that whoever reads it sees the same order each time).
func (s *Static[V]) Range(fn func(key string, v V) bool) {
	for _, k := range slices.Sorted(maps.Keys(s.values)) {
		if !fn(k, s.values[k]) {
			return
		}
	}
}

// Len is the number of keys.
func (s *Static[V]) Len() int { return len(s.values) }

// Read is one event of a replay, as Replay hands it over.
type Read struct {
	Seq     uint64
	Subject string
	// Time is the stream's time of the event (when the server stored it).
	Time   time.Time
	Record domain.Record
	// DecodeErr: the event cannot be decoded; projections skip it.
	DecodeErr error
	// Pending is how many events of the log are after this one.
	Pending uint64
}

// Replay reads the event log in order from sequence from (1: the
// beginning) up to the last event stored when it started, handing every
// event to fn, until fn returns false (that event counts as not read) or
// ctx ends. It returns the sequence of the last event fn took (from-1 when
// none) and the log's last sequence when it started. Events are decoded
// on the consumer's goroutine, beside fn's.
func Replay(ctx context.Context, js jetstream.JetStream, from uint64, fn func(Read) bool) (took, last uint64, err error) {
	if from < 1 {
		from = 1
	}
	took = from - 1
	_, last, err = streamState(ctx, js)
	if err != nil {
		return took, 0, err
	}
	if last < from {
		return took, last, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, domain.StreamName, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from,
	})
	if err != nil {
		return took, last, fmt.Errorf("readmodel: replay consumer: %w", err)
	}
	reads := make(chan Read, 2*maxBatchKeys)
	errc := make(chan error, 1)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			select {
			case errc <- fmt.Errorf("readmodel: replay metadata: %w", err):
			default:
			}
			return
		}
		rd := Read{Seq: md.Sequence.Stream, Subject: m.Subject(), Time: md.Timestamp, Pending: md.NumPending}
		rd.Record, rd.DecodeErr = domain.DecodeTyped(rd.Seq, rd.Subject, m.Headers().Get(domain.HeaderEventType), m.Data())
		select {
		case reads <- rd:
		case <-ctx.Done():
		}
	}, jetstream.PullMaxMessages(2*maxBatchKeys))
	if err != nil {
		return took, last, fmt.Errorf("readmodel: replay consume: %w", err)
	}
	defer cc.Stop()
	stall := time.NewTimer(stallTimeout)
	defer stall.Stop()
	for took < last {
		select {
		case <-ctx.Done():
			return took, last, ctx.Err()
		case err := <-errc:
			return took, last, err
		case <-stall.C:
			return took, last, fmt.Errorf("readmodel: replay: nothing received for %v after sequence %d", stallTimeout, took)
		case rd := <-reads:
			stall.Reset(stallTimeout)
			if rd.Seq <= took {
				continue
			}
			if !fn(rd) {
				return took, last, nil
			}
			took = rd.Seq
		}
	}
	return took, last, nil
}

// ErrStreamMissing is returned (wrapped) by Replay and the rest of the
// engine when the event stream does not exist.
var ErrStreamMissing = errStreamMissing

// IsStreamMissing reports whether err says the event stream is missing.
func IsStreamMissing(err error) bool { return errors.Is(err, errStreamMissing) }

// Stream returns the event stream's identity and last sequence.
func Stream(ctx context.Context, js jetstream.JetStream) (StreamID, uint64, error) {
	return streamState(ctx, js)
}
