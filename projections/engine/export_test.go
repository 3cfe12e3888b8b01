package engine

import "context"

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
