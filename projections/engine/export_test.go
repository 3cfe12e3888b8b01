package engine

import (
	"context"
	"encoding/json"

	"github.com/nats-io/nats.go/jetstream"
)

// LeadForTest applies events as if this projector held the lease, so tests
// can race projectors past the lease and see the fence hold.
func (p *Projector[V]) LeadForTest(ctx context.Context) { p.lead(ctx) }

// ErrFenced is errFenced, for tests.
var ErrFenced = errFenced

// CommitForTest commits one key and the checkpoint seq on condition that
// the checkpoint is at revision rev.
func (p *Projector[V]) CommitForTest(ctx context.Context, bucket, key string, value []byte, seq, rev uint64) error {
	id, _, err := streamState(ctx, p.js)
	if err != nil {
		return err
	}
	_, err = p.commit(ctx, bucket, []entry{{key, value}}, seq, rev, id)
	return err
}

// LoadForTest loads a bucket as a projector's start-up does (filters: a
// Forgetful projection's Remembered and the checkpoint; none: every key)
// and answers how many entries the server delivered and how many values
// were kept.
func LoadForTest(ctx context.Context, kv jetstream.KeyValue, filters []string) (read, kept int, err error) {
	l, err := loadKeys[json.RawMessage](ctx, kv, filters)
	if err != nil {
		return 0, 0, err
	}
	return l.read, len(l.values), nil
}
