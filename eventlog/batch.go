package eventlog

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/justiceevents/jevents/domain"
)

// Creation is an event that creates its aggregate: it is stored only if the
// aggregate has no event yet. With Expect set it follows the aggregate's
// event at that sequence instead (an .ics re-import replacing a pending
// conference), in the same all-or-nothing batch.
type Creation struct {
	Env   domain.Envelope
	MsgID string
	// Expect is the sequence of the aggregate's last event: 0, none.
	Expect uint64
}

// MaxBatch is the most creations CreateAll takes at once: the server's
// limit of messages in one atomic batch.
const MaxBatch = 1000

// CreateAll stores events that each create a different aggregate, as one
// atomic batch (ADR-50): all of them, or none. It returns where each one is
// stored, in order.
//
// The stream must allow atomic publishing (the stream configuration here
// does). Each message carries its own Nats-Msg-Id and expects its
// aggregate to be empty (expected last sequence 0 on the aggregate's
// subjects, allowed in a batch because no two messages write the same
// aggregate), so:
//
//   - a retry of a batch that was stored (the same message ids) is refused
//     as a whole; CreateAll then finds every event of the batch stored
//     under its message id and answers them all as duplicates;
//   - if some aggregate exists for another reason (a key reused, or an
//     earlier partial attempt of a time before batches), the whole batch is
//     refused with a *domain.VersionError and nothing is stored: the caller
//     looks at each aggregate to tell which;
//   - a full log or storage refuses the whole batch (507), and an outage or
//     a missing stream answers domain.ErrUnavailable within Timeout, as
//     Append does. A batch whose commit was not acknowledged may have been
//     stored; a retry with the same message ids finds out.
func (l *Log) CreateAll(ctx context.Context, cs []Creation) ([]Appended, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	out, err := l.createAll(ctx, cs)
	for _, c := range cs {
		l.metrics.observe(c.Env.Type, time.Since(start), err)
	}
	return out, err
}

func (l *Log) createAll(ctx context.Context, cs []Creation) ([]Appended, error) {
	switch {
	case len(cs) == 0:
		return nil, nil
	case len(cs) > MaxBatch:
		return nil, fmt.Errorf("eventlog: a batch holds at most %d events, not %d", MaxBatch, len(cs))
	}
	op := fmt.Sprintf("append a batch of %d %s", len(cs), cs[0].Env.Type)
	seen := map[string]bool{}
	for _, c := range cs {
		agg := domain.AggregateSubject(c.Env.Aggregate, c.Env.AggregateID)
		if seen[agg] {
			return nil, fmt.Errorf("eventlog: %s: aggregate %s twice", op, c.Env.AggregateID)
		}
		seen[agg] = true
		if err := l.check(c.Env); err != nil {
			return nil, fmt.Errorf("eventlog: %s: %w", op, err)
		}
	}
	var result *jetstreamext.BatchAck
	err := l.retry(ctx, op, cs[0].Env, func(actx context.Context) error {
		msgs := make([]*nats.Msg, len(cs))
		for i, c := range cs {
			m, err := message(c.Env, c.Expect) // the chain: its previous event is the one it expects
			if err != nil {
				return err
			}
			m.Header.Set(jetstream.MsgIDHeader, c.MsgID)
			m.Header.Set(jetstream.ExpectedStreamHeader, domain.StreamName)
			m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(c.Expect, 10))
			m.Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, domain.AggregateSubject(c.Env.Aggregate, c.Env.AggregateID))
			msgs[i] = m
		}
		ack, err := jetstreamext.PublishMsgBatch(actx, l.js, msgs,
			jetstreamext.BatchFlowControl{AckFirst: true, AckTimeout: AttemptTimeout})
		result = ack
		return err
	})
	switch {
	case err == nil:
		// The batch is stored in one piece: its messages have the
		// sequences up to the commit's.
		if result.BatchSize != uint64(len(cs)) || result.Sequence < uint64(len(cs)) {
			return nil, fmt.Errorf("eventlog: %s: acknowledged %d messages up to %d", op, result.BatchSize, result.Sequence)
		}
		out := make([]Appended, len(cs))
		first := result.Sequence - uint64(len(cs)) + 1
		for i := range out {
			out[i] = Appended{Seq: first + uint64(i)}
		}
		return out, nil
	case isWrongLastSequence(err), isBatchDuplicate(err):
		// Some aggregate exists: ours, if an earlier attempt of this
		// very batch was stored.
		out := make([]Appended, len(cs))
		for i, c := range cs {
			seq, last, gerr := l.since(ctx, domain.AggregateSubject(c.Env.Aggregate, c.Env.AggregateID), c.Expect, c.MsgID)
			if gerr != nil {
				return nil, l.classify(ctx, op+": check the aggregates", gerr)
			}
			if seq == 0 {
				return nil, &domain.VersionError{Expected: c.Expect, Current: last}
			}
			out[i] = Appended{Seq: seq, Duplicate: true}
		}
		return out, nil
	}
	return nil, err
}
